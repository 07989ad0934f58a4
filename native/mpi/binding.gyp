{
  "targets": [
    {
      "target_name": "tinyseek_mpi",
      "sources": ["mpi.c"],
      "include_dirs": ["<!@(mpicc --showme:incdirs)"],
      "cflags!": ["-O0"],
      "cflags": ["-O2", "-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["<!@(mpicc --showme:link)"]
    }
  ]
}
