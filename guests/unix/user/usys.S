# System call stubs: number in a7, ecall, result in a0.  And _start, which calls
# main(argc, argv) and exits with its result.
#include "../syscall.h"

    .section .text.start, "ax"
    .globl _start
_start:
    call    main
    call    exit                    # exit(main's return value) never returns

    .text
#define SYSCALL(name)       \
    .globl name;            \
name:                       \
    li      a7, SYS_##name; \
    ecall;                  \
    ret

SYSCALL(fork)
SYSCALL(exit)
SYSCALL(wait)
SYSCALL(kill)
SYSCALL(getpid)
SYSCALL(sbrk)
SYSCALL(sleep)
SYSCALL(uptime)
SYSCALL(read)
SYSCALL(write)
SYSCALL(exec)
SYSCALL(procs)
SYSCALL(meminfo)
SYSCALL(shutdown)
SYSCALL(open)
SYSCALL(close)
SYSCALL(unlink)
SYSCALL(listdir)
SYSCALL(ping)
SYSCALL(udpbind)
SYSCALL(udpclose)
SYSCALL(udpsend)
SYSCALL(udprecv)
