// mapFile(path): a file memory-mapped as an ArrayBuffer (private, copy-on-write: writes never reach
// the file), so a checkpoint's tensors can be viewed in place and its pages are read from disk only
// when first touched; the mapping is released when the ArrayBuffer is garbage-collected. Errors
// (the path cannot be opened, is not a regular file, or cannot be mapped) throw an Error naming the
// path and the system's reason.
#define NAPI_VERSION 8
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
  void *addr;
  size_t len;
} mapping_t;

static void unmap(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  mapping_t *m = hint;
  munmap(m->addr, m->len);
  free(m);
}

static napi_value fail(napi_env env, const char *path, const char *what, int err) {
  char msg[1200];
  snprintf(msg, sizeof msg, "mapFile: cannot %s %s (%s)", what, path, strerror(err));
  napi_throw_error(env, "ERR_TINYSEEK_MMAP", msg);
  return NULL;
}

napi_value ts_js_map_file(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[1024];
  size_t n = 0;
  napi_valuetype t;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_string) {
    napi_throw_type_error(env, "ERR_TINYSEEK_TYPE", "mapFile: expected a path string");
    return NULL;
  }
  napi_get_value_string_utf8(env, argv[0], path, sizeof path, &n);
  if (n >= sizeof path - 1) {
    napi_throw_range_error(env, "ERR_TINYSEEK_RANGE", "mapFile: path longer than 1022 bytes");
    return NULL;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(env, path, "open", errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return fail(env, path, "stat", e);
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    char msg[1200];
    snprintf(msg, sizeof msg, "mapFile: cannot map %s (not a regular file)", path);
    napi_throw_error(env, "ERR_TINYSEEK_MMAP", msg);
    return NULL;
  }
  napi_value ab;
  if (st.st_size == 0) {
    close(fd);
    void *unused;
    napi_create_arraybuffer(env, 0, &unused, &ab);
    return ab;
  }
  size_t len = (size_t)st.st_size;
  void *addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  int e = errno;
  close(fd); /* the mapping keeps the file alive */
  if (addr == MAP_FAILED) return fail(env, path, "mmap", e);
  mapping_t *m = malloc(sizeof *m);
  if (!m) {
    munmap(addr, len);
    return fail(env, path, "allocate a mapping record for", ENOMEM);
  }
  m->addr = addr;
  m->len = len;
  if (napi_create_external_arraybuffer(env, addr, len, unmap, m, &ab) != napi_ok) {
    munmap(addr, len);
    free(m);
    napi_throw_error(env, "ERR_TINYSEEK_MMAP", "mapFile: this Node.js does not allow external ArrayBuffers");
    return NULL;
  }
  return ab;
}
