// tinyseek's N-API binding to MPI (Open MPI 4.1 from Debian's libopenmpi-dev).
//
// A thin layer: every function maps to one MPI call on typed arrays, without copies (the MPI call
// reads and writes the array's own memory). Communicators and requests are small integer handles
// (communicator 0 = MPI_COMM_WORLD). A non-blocking call keeps a reference to its buffer until the
// request completes, so the garbage collector cannot free memory MPI is still writing.
//
// Errors: MPI_ERRORS_RETURN is set on every communicator, and a failed call throws a JS Error
// (code "ERR_MPI") naming the call, the rank and MPI's own error string. Wrong argument types
// throw TypeError naming the function and the argument.
//
// Datatypes follow the typed array: Float32Array → MPI_FLOAT, Float64Array → MPI_DOUBLE,
// Int32Array → MPI_INT, Uint8Array → MPI_BYTE (byte arrays cannot be reduced).
#define NAPI_VERSION 8
#include <mpi.h>
#include <node_api.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ARGS 8
#define MAX_COMMS 64

typedef struct {
  napi_env env;
  const char *fn;
  size_t argc;
  napi_value argv[MAX_ARGS];
} call_t;

typedef struct {
  void *p;
  size_t len; /* elements */
  MPI_Datatype type;
  napi_typedarray_type kind;
  napi_value value;
} buf_t;

typedef struct {
  MPI_Request req;
  napi_ref bufs[2];
  bool used;
} slot_t;

static MPI_Comm comms[MAX_COMMS];
static int ncomms = 0;
static slot_t *slots = NULL;
static int nslots = 0;
static int world_rank = -1;

// ------------------------------------------------------------------ errors

static napi_value throw_type(call_t *c, const char *fmt, ...) {
  char msg[512];
  int k = snprintf(msg, sizeof msg, "tinyseek mpi %s: ", c->fn);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + k, sizeof msg - (size_t)k, fmt, ap);
  va_end(ap);
  bool pending = false;
  napi_is_exception_pending(c->env, &pending);
  if (!pending) napi_throw_type_error(c->env, "ERR_TINYSEEK_MPI_ARG", msg);
  return NULL;
}

/** Throws "MPI_X failed on rank R: <MPI's error string>" when rc is not MPI_SUCCESS; returns whether it succeeded. */
static bool mpi_ok(call_t *c, int rc, const char *mpi_fn) {
  if (rc == MPI_SUCCESS) return true;
  char err[MPI_MAX_ERROR_STRING + 1];
  int len = 0;
  if (MPI_Error_string(rc, err, &len) != MPI_SUCCESS) snprintf(err, sizeof err, "error code %d", rc);
  else err[len] = 0;
  char msg[MPI_MAX_ERROR_STRING + 256];
  snprintf(msg, sizeof msg, "%s failed on rank %d: %s", mpi_fn, world_rank, err);
  napi_throw_error(c->env, "ERR_MPI", msg);
  return false;
}

static bool not_initialized(call_t *c) {
  int flag = 0, fin = 0;
  MPI_Initialized(&flag);
  MPI_Finalized(&fin);
  if (flag && !fin) return false;
  char msg[256];
  snprintf(msg, sizeof msg, "tinyseek mpi %s: MPI is %s (call init() first)", c->fn, fin ? "already finalized" : "not initialized");
  napi_throw_error(c->env, "ERR_MPI", msg);
  return true;
}

// ------------------------------------------------------------------ arguments

static bool args(napi_env env, napi_callback_info info, call_t *c, const char *fn, size_t expected) {
  c->env = env;
  c->fn = fn;
  c->argc = MAX_ARGS;
  napi_get_cb_info(env, info, &c->argc, c->argv, NULL, NULL);
  if (c->argc != expected) {
    throw_type(c, "expected %zu arguments, found %zu", expected, c->argc);
    return false;
  }
  return true;
}

static bool get_int(call_t *c, size_t i, const char *name, int *out) {
  double d;
  if (napi_get_value_double(c->env, c->argv[i], &d) != napi_ok || d != (double)(int)d) {
    throw_type(c, "argument %s must be an integer", name);
    return false;
  }
  *out = (int)d;
  return true;
}

static bool get_buf(call_t *c, size_t i, const char *name, buf_t *b) {
  bool is = false;
  napi_is_typedarray(c->env, c->argv[i], &is);
  if (!is) {
    throw_type(c, "argument %s must be a Float32Array, Float64Array, Int32Array or Uint8Array", name);
    return false;
  }
  napi_value ab;
  size_t off;
  napi_get_typedarray_info(c->env, c->argv[i], &b->kind, &b->len, &b->p, &ab, &off);
  b->value = c->argv[i];
  switch (b->kind) {
    case napi_float32_array: b->type = MPI_FLOAT; break;
    case napi_float64_array: b->type = MPI_DOUBLE; break;
    case napi_int32_array: b->type = MPI_INT; break;
    case napi_uint8_array: b->type = MPI_BYTE; break;
    default:
      throw_type(c, "argument %s must be a Float32Array, Float64Array, Int32Array or Uint8Array", name);
      return false;
  }
  if (b->len > (size_t)INT32_MAX) {
    throw_type(c, "argument %s has %zu elements; MPI counts are 32-bit", name, b->len);
    return false;
  }
  return true;
}

static bool get_i32s(call_t *c, size_t i, const char *name, int **p, size_t need) {
  buf_t b;
  if (!get_buf(c, i, name, &b)) return false;
  if (b.kind != napi_int32_array || b.len < need) {
    throw_type(c, "argument %s must be an Int32Array of at least %zu elements", name, need);
    return false;
  }
  *p = (int *)b.p;
  return true;
}

static bool get_comm(call_t *c, size_t i, MPI_Comm *out) {
  int h;
  if (!get_int(c, i, "comm", &h)) return false;
  if (h < 0 || h >= ncomms || comms[h] == MPI_COMM_NULL) {
    throw_type(c, "communicator handle %d is not valid", h);
    return false;
  }
  *out = comms[h];
  return true;
}

static bool get_op(call_t *c, size_t i, MPI_Op *op) {
  int k;
  if (!get_int(c, i, "op", &k)) return false;
  if (k == 0) *op = MPI_SUM;
  else if (k == 1) *op = MPI_MAX;
  else if (k == 2) *op = MPI_MIN;
  else {
    throw_type(c, "op must be 0 (sum), 1 (max) or 2 (min), found %d", k);
    return false;
  }
  return true;
}

static bool reducible(call_t *c, const buf_t *b) {
  if (b->type != MPI_BYTE) return true;
  throw_type(c, "cannot reduce a Uint8Array (use Float32Array, Float64Array or Int32Array)");
  return false;
}

static napi_value num(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

static napi_value undef(napi_env env) {
  napi_value r;
  napi_get_undefined(env, &r);
  return r;
}

// ------------------------------------------------------------------ requests

static int new_slot(napi_env env, MPI_Request req, napi_value b0, napi_value b1) {
  int s = -1;
  for (int i = 0; i < nslots; i++)
    if (!slots[i].used) { s = i; break; }
  if (s < 0) {
    int n = nslots ? nslots * 2 : 64;
    slots = realloc(slots, sizeof(slot_t) * (size_t)n);
    memset(slots + nslots, 0, sizeof(slot_t) * (size_t)(n - nslots));
    s = nslots;
    nslots = n;
  }
  slots[s].used = true;
  slots[s].req = req;
  slots[s].bufs[0] = slots[s].bufs[1] = NULL;
  if (b0) napi_create_reference(env, b0, 1, &slots[s].bufs[0]);
  if (b1) napi_create_reference(env, b1, 1, &slots[s].bufs[1]);
  return s;
}

static void free_slot(napi_env env, int s) {
  for (int k = 0; k < 2; k++)
    if (slots[s].bufs[k]) {
      napi_delete_reference(env, slots[s].bufs[k]);
      slots[s].bufs[k] = NULL;
    }
  slots[s].used = false;
}

static bool get_slot(call_t *c, napi_value v, int *out) {
  double d;
  if (napi_get_value_double(c->env, v, &d) != napi_ok || d != (double)(int)d || d < 0 || d >= nslots || !slots[(int)d].used) {
    throw_type(c, "not a pending request handle");
    return false;
  }
  *out = (int)d;
  return true;
}

// ------------------------------------------------------------------ signals

// When mpirun ends a job because a rank failed, it sends SIGTERM to the others. A rank is then
// usually blocked inside an MPI call, where no JS handler can run, so the message is written here
// (async-signal-safe: write, kill). Peers on this host whose process is gone are named.
#define MAX_PEERS 1024
static char term_prefix[256];
static int peer_pid[MAX_PEERS];
static int npeers = 0;

static void put(const char *s) {
  ssize_t w = write(2, s, strlen(s));
  (void)w;
}

static void put_int(long v) {
  char b[24];
  int i = (int)sizeof b - 1;
  b[i] = 0;
  if (v == 0) b[--i] = '0';
  while (v > 0 && i > 0) {
    b[--i] = (char)('0' + v % 10);
    v /= 10;
  }
  put(b + i);
}

static void on_term(int sig) {
  int saved = errno;
  put(term_prefix);
  int named = 0;
  for (int r = 0; r < npeers; r++) {
    if (peer_pid[r] <= 0 || kill(peer_pid[r], 0) == 0 || errno != ESRCH) continue;
    put(named ? ", rank " : "rank ");
    put_int(r);
    put(" (pid ");
    put_int(peer_pid[r]);
    put(")");
    named++;
  }
  put(named ? " died" : "another rank failed");
  put(" (see mpirun's message)\n");
  errno = saved;
  _exit(128 + sig);
}

// ------------------------------------------------------------------ exports

/** init(requiredLevel 0..3) → [rank, size, providedLevel]; idempotent. */
static napi_value js_init(napi_env env, napi_callback_info info) {
  call_t c;
  if (!args(env, info, &c, "init", 1)) return NULL;
  int req;
  if (!get_int(&c, 0, "level", &req)) return NULL;
  if (req < 0 || req > 3) return throw_type(&c, "level must be 0..3 (single, funneled, serialized, multiple), found %d", req);
  static const int levels[4] = {MPI_THREAD_SINGLE, MPI_THREAD_FUNNELED, MPI_THREAD_SERIALIZED, MPI_THREAD_MULTIPLE};
  int flag = 0, fin = 0, prov = 0;
  MPI_Finalized(&fin);
  if (fin) return throw_type(&c, "MPI was finalized; it cannot be initialized again in this process");
  MPI_Initialized(&flag);
  if (!flag) {
    int rc = MPI_Init_thread(NULL, NULL, levels[req], &prov);
    if (rc != MPI_SUCCESS) {
      napi_throw_error(env, "ERR_MPI", "MPI_Init_thread failed (is this process started by mpirun, and is Open MPI installed?)");
      return NULL;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    comms[0] = MPI_COMM_WORLD;
    ncomms = 1;
  } else MPI_Query_thread(&prov);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  world_rank = rank;
  int p = 0;
  for (int i = 0; i < 4; i++)
    if (levels[i] == prov) p = i;
  napi_value arr;
  napi_create_array_with_length(env, 3, &arr);
  napi_set_element(env, arr, 0, num(env, rank));
  napi_set_element(env, arr, 1, num(env, size));
  napi_set_element(env, arr, 2, num(env, p));
  return arr;
}

/** state() → 0 not initialized, 1 initialized, 2 finalized. */
static napi_value js_state(napi_env env, napi_callback_info info) {
  int flag = 0, fin = 0;
  MPI_Initialized(&flag);
  MPI_Finalized(&fin);
  return num(env, fin ? 2 : flag ? 1 : 0);
}

/** commRank(comm), commSize(comm). */
static napi_value js_comm_rank(napi_env env, napi_callback_info info) {
  call_t c;
  MPI_Comm comm;
  int r;
  if (!args(env, info, &c, "commRank", 1) || not_initialized(&c) || !get_comm(&c, 0, &comm)) return NULL;
  if (!mpi_ok(&c, MPI_Comm_rank(comm, &r), "MPI_Comm_rank")) return NULL;
  return num(env, r);
}

static napi_value js_comm_size(napi_env env, napi_callback_info info) {
  call_t c;
  MPI_Comm comm;
  int r;
  if (!args(env, info, &c, "commSize", 1) || not_initialized(&c) || !get_comm(&c, 0, &comm)) return NULL;
  if (!mpi_ok(&c, MPI_Comm_size(comm, &r), "MPI_Comm_size")) return NULL;
  return num(env, r);
}

/** commSplit(comm, color, key) → new communicator handle (MPI_Comm_split; color < 0 = MPI_UNDEFINED → -1). */
static napi_value js_comm_split(napi_env env, napi_callback_info info) {
  call_t c;
  MPI_Comm comm, out;
  int color, key;
  if (!args(env, info, &c, "commSplit", 3) || not_initialized(&c) || !get_comm(&c, 0, &comm) || !get_int(&c, 1, "color", &color) || !get_int(&c, 2, "key", &key)) return NULL;
  if (ncomms >= MAX_COMMS) return throw_type(&c, "too many communicators (%d)", MAX_COMMS);
  if (!mpi_ok(&c, MPI_Comm_split(comm, color < 0 ? MPI_UNDEFINED : color, key, &out), "MPI_Comm_split")) return NULL;
  if (out == MPI_COMM_NULL) return num(env, -1);
  MPI_Comm_set_errhandler(out, MPI_ERRORS_RETURN);
  comms[ncomms] = out;
  return num(env, ncomms++);
}

/** isend(buf, dest, tag, comm) → request handle. */
static napi_value js_isend(napi_env env, napi_callback_info info) {
  call_t c;
  buf_t b;
  int dest, tag;
  MPI_Comm comm;
  MPI_Request req;
  if (!args(env, info, &c, "isend", 4) || not_initialized(&c) || !get_buf(&c, 0, "buf", &b) || !get_int(&c, 1, "dest", &dest) || !get_int(&c, 2, "tag", &tag) || !get_comm(&c, 3, &comm)) return NULL;
  if (!mpi_ok(&c, MPI_Isend(b.p, (int)b.len, b.type, dest, tag, comm, &req), "MPI_Isend")) return NULL;
  return num(env, new_slot(env, req, b.value, NULL));
}

/** irecv(buf, source (-1 = any), tag (-1 = any), comm) → request handle. */
static napi_value js_irecv(napi_env env, napi_callback_info info) {
  call_t c;
  buf_t b;
  int src, tag;
  MPI_Comm comm;
  MPI_Request req;
  if (!args(env, info, &c, "irecv", 4) || not_initialized(&c) || !get_buf(&c, 0, "buf", &b) || !get_int(&c, 1, "source", &src) || !get_int(&c, 2, "tag", &tag) || !get_comm(&c, 3, &comm)) return NULL;
  if (!mpi_ok(&c, MPI_Irecv(b.p, (int)b.len, b.type, src < 0 ? MPI_ANY_SOURCE : src, tag < 0 ? MPI_ANY_TAG : tag, comm, &req), "MPI_Irecv")) return NULL;
  return num(env, new_slot(env, req, b.value, NULL));
}

/** iallreduce(buf, op, comm) → request handle (in place). */
static napi_value js_iallreduce(napi_env env, napi_callback_info info) {
  call_t c;
  buf_t b;
  MPI_Op op;
  MPI_Comm comm;
  MPI_Request req;
  if (!args(env, info, &c, "iallreduce", 3) || not_initialized(&c) || !get_buf(&c, 0, "buf", &b) || !reducible(&c, &b) || !get_op(&c, 1, &op) || !get_comm(&c, 2, &comm)) return NULL;
  if (!mpi_ok(&c, MPI_Iallreduce(MPI_IN_PLACE, b.p, (int)b.len, b.type, op, comm, &req), "MPI_Iallreduce")) return NULL;
  return num(env, new_slot(env, req, b.value, NULL));
}

static napi_value status_obj(napi_env env, MPI_Status *st, MPI_Datatype type) {
  napi_value o;
  napi_create_object(env, &o);
  napi_set_named_property(env, o, "source", num(env, st->MPI_SOURCE));
  napi_set_named_property(env, o, "tag", num(env, st->MPI_TAG));
  int count = 0;
  if (type != MPI_DATATYPE_NULL) MPI_Get_count(st, type, &count);
  napi_set_named_property(env, o, "count", num(env, count));
  return o;
}

/** wait(req) → {source, tag, count} (count in elements of the request's buffer type; 0 for collectives). */
static napi_value js_wait(napi_env env, napi_callback_info info) {
  call_t c;
  int s;
  if (!args(env, info, &c, "wait", 1) || not_initialized(&c) || !get_slot(&c, c.argv[0], &s)) return NULL;
  MPI_Status st;
  memset(&st, 0, sizeof st);
  MPI_Datatype type = MPI_DATATYPE_NULL;
  if (slots[s].bufs[0]) {
    napi_value v;
    napi_get_reference_value(env, slots[s].bufs[0], &v);
    napi_typedarray_type kind;
    size_t len;
    void *p;
    napi_value ab;
    size_t off;
    napi_get_typedarray_info(env, v, &kind, &len, &p, &ab, &off);
    type = kind == napi_float32_array ? MPI_FLOAT : kind == napi_float64_array ? MPI_DOUBLE : kind == napi_int32_array ? MPI_INT : MPI_BYTE;
  }
  int rc = MPI_Wait(&slots[s].req, &st);
  free_slot(env, s);
  if (!mpi_ok(&c, rc, "MPI_Wait")) return NULL;
  return status_obj(env, &st, type);
}

/** waitall([req, ...]). */
static napi_value js_waitall(napi_env env, napi_callback_info info) {
  call_t c;
  if (!args(env, info, &c, "waitall", 1) || not_initialized(&c)) return NULL;
  uint32_t n = 0;
  bool isarr = false;
  napi_is_array(env, c.argv[0], &isarr);
  if (!isarr) return throw_type(&c, "expected an array of request handles");
  napi_get_array_length(env, c.argv[0], &n);
  if (n == 0) return undef(env);
  int *idx = malloc(sizeof(int) * n);
  MPI_Request *reqs = malloc(sizeof(MPI_Request) * n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    napi_get_element(env, c.argv[0], i, &v);
    if (!get_slot(&c, v, &idx[i])) {
      free(idx);
      free(reqs);
      return NULL;
    }
    reqs[i] = slots[idx[i]].req;
  }
  int rc = MPI_Waitall((int)n, reqs, MPI_STATUSES_IGNORE);
  for (uint32_t i = 0; i < n; i++) free_slot(env, idx[i]);
  free(idx);
  free(reqs);
  if (!mpi_ok(&c, rc, "MPI_Waitall")) return NULL;
  return undef(env);
}

/** test(req) → true when complete (the handle is then released), false otherwise. */
static napi_value js_test(napi_env env, napi_callback_info info) {
  call_t c;
  int s, flag = 0;
  if (!args(env, info, &c, "test", 1) || not_initialized(&c) || !get_slot(&c, c.argv[0], &s)) return NULL;
  int rc = MPI_Test(&slots[s].req, &flag, MPI_STATUS_IGNORE);
  if (rc != MPI_SUCCESS || flag) free_slot(env, s);
  if (!mpi_ok(&c, rc, "MPI_Test")) return NULL;
  napi_value r;
  napi_get_boolean(env, flag != 0, &r);
  return r;
}

/** allreduce(buf, op, comm): in place. */
static napi_value js_allreduce(napi_env env, napi_callback_info info) {
  call_t c;
  buf_t b;
  MPI_Op op;
  MPI_Comm comm;
  if (!args(env, info, &c, "allreduce", 3) || not_initialized(&c) || !get_buf(&c, 0, "buf", &b) || !reducible(&c, &b) || !get_op(&c, 1, &op) || !get_comm(&c, 2, &comm)) return NULL;
  if (!mpi_ok(&c, MPI_Allreduce(MPI_IN_PLACE, b.p, (int)b.len, b.type, op, comm), "MPI_Allreduce")) return NULL;
  return undef(env);
}

/** allgather(send, recv, comm): recv holds size × send.length elements, rank r's at r·send.length. */
static napi_value js_allgather(napi_env env, napi_callback_info info) {
  call_t c;
  buf_t s, r;
  MPI_Comm comm;
  int size;
  if (!args(env, info, &c, "allgather", 3) || not_initialized(&c) || !get_buf(&c, 0, "send", &s) || !get_buf(&c, 1, "recv", &r) || !get_comm(&c, 2, &comm)) return NULL;
  if (s.kind != r.kind) return throw_type(&c, "send and recv must be arrays of the same type");
  MPI_Comm_size(comm, &size);
  if (r.len < s.len * (size_t)size) return throw_type(&c, "recv has %zu elements, expected at least %zu (size %d × send %zu)", r.len, s.len * (size_t)size, size, s.len);
  if (!mpi_ok(&c, MPI_Allgather(s.p, (int)s.len, s.type, r.p, (int)s.len, r.type, comm), "MPI_Allgather")) return NULL;
  return undef(env);
}

static bool check_counts(call_t *c, const char *what, const int *counts, const int *displs, int size, size_t len) {
  for (int i = 0; i < size; i++) {
    if (counts[i] < 0 || displs[i] < 0 || (size_t)displs[i] + (size_t)counts[i] > len) {
      throw_type(c, "%s block %d (displacement %d, count %d) lies outside the array of %zu elements", what, i, displs[i], counts[i], len);
      return false;
    }
  }
  return true;
}

/** allgatherv(buf, counts, displs, comm): in place; rank r's block is buf[displs[r], displs[r]+counts[r]). */
static napi_value js_allgatherv(napi_env env, napi_callback_info info) {
  call_t c;
  buf_t b;
  MPI_Comm comm;
  int size, *counts, *displs;
  if (!args(env, info, &c, "allgatherv", 4) || not_initialized(&c) || !get_buf(&c, 0, "buf", &b) || !get_comm(&c, 3, &comm)) return NULL;
  MPI_Comm_size(comm, &size);
  if (!get_i32s(&c, 1, "counts", &counts, (size_t)size) || !get_i32s(&c, 2, "displs", &displs, (size_t)size)) return NULL;
  if (!check_counts(&c, "buf", counts, displs, size, b.len)) return NULL;
  if (!mpi_ok(&c, MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, b.p, counts, displs, b.type, comm), "MPI_Allgatherv")) return NULL;
  return undef(env);
}

/** alltoall(send, recv, comm): equal blocks of send.length / size elements to every rank. */
static napi_value js_alltoall(napi_env env, napi_callback_info info) {
  call_t c;
  buf_t s, r;
  MPI_Comm comm;
  int size;
  if (!args(env, info, &c, "alltoall", 3) || not_initialized(&c) || !get_buf(&c, 0, "send", &s) || !get_buf(&c, 1, "recv", &r) || !get_comm(&c, 2, &comm)) return NULL;
  MPI_Comm_size(comm, &size);
  if (s.kind != r.kind || s.len != r.len || s.len % (size_t)size) return throw_type(&c, "send and recv must be arrays of one type and one length divisible by the size %d (found %zu and %zu)", size, s.len, r.len);
  int k = (int)(s.len / (size_t)size);
  if (!mpi_ok(&c, MPI_Alltoall(s.p, k, s.type, r.p, k, r.type, comm), "MPI_Alltoall")) return NULL;
  return undef(env);
}

/** alltoallv(send, sendCounts, sendDispls, recv, recvCounts, recvDispls, comm). */
static napi_value js_alltoallv(napi_env env, napi_callback_info info) {
  call_t c;
  buf_t s, r;
  MPI_Comm comm;
  int size, *sc, *sd, *rc_, *rd;
  if (!args(env, info, &c, "alltoallv", 7) || not_initialized(&c) || !get_buf(&c, 0, "send", &s) || !get_buf(&c, 3, "recv", &r) || !get_comm(&c, 6, &comm)) return NULL;
  if (s.kind != r.kind) return throw_type(&c, "send and recv must be arrays of the same type");
  MPI_Comm_size(comm, &size);
  if (!get_i32s(&c, 1, "sendCounts", &sc, (size_t)size) || !get_i32s(&c, 2, "sendDispls", &sd, (size_t)size) ||
      !get_i32s(&c, 4, "recvCounts", &rc_, (size_t)size) || !get_i32s(&c, 5, "recvDispls", &rd, (size_t)size)) return NULL;
  if (!check_counts(&c, "send", sc, sd, size, s.len) || !check_counts(&c, "recv", rc_, rd, size, r.len)) return NULL;
  if (!mpi_ok(&c, MPI_Alltoallv(s.p, sc, sd, s.type, r.p, rc_, rd, r.type, comm), "MPI_Alltoallv")) return NULL;
  return undef(env);
}

/** bcast(buf, root, comm). */
static napi_value js_bcast(napi_env env, napi_callback_info info) {
  call_t c;
  buf_t b;
  int root;
  MPI_Comm comm;
  if (!args(env, info, &c, "bcast", 3) || not_initialized(&c) || !get_buf(&c, 0, "buf", &b) || !get_int(&c, 1, "root", &root) || !get_comm(&c, 2, &comm)) return NULL;
  if (!mpi_ok(&c, MPI_Bcast(b.p, (int)b.len, b.type, root, comm), "MPI_Bcast")) return NULL;
  return undef(env);
}

/** barrier(comm). */
static napi_value js_barrier(napi_env env, napi_callback_info info) {
  call_t c;
  MPI_Comm comm;
  if (!args(env, info, &c, "barrier", 1) || not_initialized(&c) || !get_comm(&c, 0, &comm)) return NULL;
  if (!mpi_ok(&c, MPI_Barrier(comm), "MPI_Barrier")) return NULL;
  return undef(env);
}

/** abort(code): MPI_Abort on MPI_COMM_WORLD (mpirun then ends every rank). Does not return. */
static napi_value js_abort(napi_env env, napi_callback_info info) {
  call_t c;
  int code;
  if (!args(env, info, &c, "abort", 1) || !get_int(&c, 0, "code", &code)) return NULL;
  fflush(stdout);
  fflush(stderr);
  int flag = 0, fin = 0;
  MPI_Initialized(&flag);
  MPI_Finalized(&fin);
  if (flag && !fin) MPI_Abort(MPI_COMM_WORLD, code);
  _exit(code);
}

/**
 * onTerminate(prefix, peerPids): on SIGTERM writes prefix + "rank K (pid P) died" for every peer
 * whose process is gone (peerPids[r] ≤ 0: not on this host) or "another rank failed", and exits
 * 128 + signal — even inside a blocking MPI call.
 */
static napi_value js_on_terminate(napi_env env, napi_callback_info info) {
  call_t c;
  if (!args(env, info, &c, "onTerminate", 2)) return NULL;
  size_t len = 0;
  if (napi_get_value_string_utf8(env, c.argv[0], term_prefix, sizeof term_prefix - 1, &len) != napi_ok) return throw_type(&c, "argument prefix must be a string");
  term_prefix[len] = 0;
  buf_t b;
  if (!get_buf(&c, 1, "peerPids", &b)) return NULL;
  if (b.kind != napi_int32_array) return throw_type(&c, "argument peerPids must be an Int32Array");
  npeers = b.len < MAX_PEERS ? (int)b.len : MAX_PEERS;
  memcpy(peer_pid, b.p, sizeof(int) * (size_t)npeers);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  return undef(env);
}

/** finalize(): MPI_Finalize (idempotent). */
static napi_value js_finalize(napi_env env, napi_callback_info info) {
  call_t c;
  c.env = env;
  c.fn = "finalize";
  int flag = 0, fin = 0;
  MPI_Initialized(&flag);
  MPI_Finalized(&fin);
  if (!flag || fin) return undef(env);
  for (int i = 1; i < ncomms; i++)
    if (comms[i] != MPI_COMM_NULL) MPI_Comm_free(&comms[i]);
  ncomms = 0;
  if (!mpi_ok(&c, MPI_Finalize(), "MPI_Finalize")) return NULL;
  return undef(env);
}

/** wtime() → MPI_Wtime(). */
static napi_value js_wtime(napi_env env, napi_callback_info info) {
  return num(env, MPI_Wtime());
}

/** version() → MPI library version string. */
static napi_value js_version(napi_env env, napi_callback_info info) {
  char v[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(v, &len);
  napi_value r;
  napi_create_string_utf8(env, v, (size_t)len, &r);
  return r;
}

#define EXPORT(name, fn)                                          \
  do {                                                            \
    napi_value f;                                                 \
    napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f); \
    napi_set_named_property(env, exports, name, f);               \
  } while (0)

static napi_value init_module(napi_env env, napi_value exports) {
  EXPORT("init", js_init);
  EXPORT("state", js_state);
  EXPORT("commRank", js_comm_rank);
  EXPORT("commSize", js_comm_size);
  EXPORT("commSplit", js_comm_split);
  EXPORT("isend", js_isend);
  EXPORT("irecv", js_irecv);
  EXPORT("iallreduce", js_iallreduce);
  EXPORT("wait", js_wait);
  EXPORT("waitall", js_waitall);
  EXPORT("test", js_test);
  EXPORT("allreduce", js_allreduce);
  EXPORT("allgather", js_allgather);
  EXPORT("allgatherv", js_allgatherv);
  EXPORT("alltoall", js_alltoall);
  EXPORT("alltoallv", js_alltoallv);
  EXPORT("bcast", js_bcast);
  EXPORT("barrier", js_barrier);
  EXPORT("abort", js_abort);
  EXPORT("onTerminate", js_on_terminate);
  EXPORT("finalize", js_finalize);
  EXPORT("wtime", js_wtime);
  EXPORT("version", js_version);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init_module)
