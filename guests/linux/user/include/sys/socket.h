// sys/socket.h: the few lines of a C library's header that the kernel's own
// headers expect.  The kernel's <linux/if.h> (struct ifreq) includes it for
// `struct sockaddr`, which in user space belongs to the C library, not to the
// kernel's UAPI.  We have no C library, so here is the kernel's layout of it:
// a 2-byte address family and 14 bytes of address (net/socket.c copies exactly
// this shape in and out of ioctls such as SIOCSIFADDR).
#pragma once
#include <linux/socket.h>

typedef unsigned short sa_family_t;
typedef unsigned int socklen_t;

struct sockaddr {
    sa_family_t sa_family;
    char sa_data[14];
};

// Address families and socket types (include/linux/socket.h and net.h inside
// the kernel, not exported to UAPI).
#define AF_UNSPEC   0
#define AF_INET     2
#define SOCK_STREAM 1
#define SOCK_DGRAM  2
#define SOCK_RAW    3
#define SOL_SOCKET  1
#define SO_REUSEADDR 2
#define SO_BROADCAST 6
