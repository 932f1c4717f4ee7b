// System call numbers, shared by the kernel (syscall.c) and user/usys.S.
// A user program puts the number in a7, arguments in a0..a5, and executes ecall;
// the result comes back in a0 (-1 on error).
#pragma once

#define SYS_fork      1
#define SYS_exit      2
#define SYS_wait      3
#define SYS_kill      4
#define SYS_getpid    5
#define SYS_sbrk      6
#define SYS_sleep     7
#define SYS_uptime    8
#define SYS_read      9
#define SYS_write    10
#define SYS_exec     11
#define SYS_procs    12
#define SYS_meminfo  13
#define SYS_shutdown 14
