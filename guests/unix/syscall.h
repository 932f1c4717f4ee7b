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
#define SYS_open     15
#define SYS_close    16
#define SYS_unlink   17
#define SYS_listdir  18
#define SYS_ping     19
#define SYS_udpbind  20
#define SYS_udpclose 21
#define SYS_udpsend  22
#define SYS_udprecv  23

// The file system's calls (fs.c; names are files in the root directory, no '/'):
//   open(name, flags)     -> fd >= 3, or -1 (no disk, bad name, missing, no fd free).
//                            flags: O_CREATE makes an empty file if name is missing,
//                            O_TRUNC empties it.  Every fd reads and writes.
//   close(fd)             -> 0, or -1 if fd is not an open file.
//   read/write(fd, buf, n)-> bytes moved at the fd's offset, which advances; 0 at
//                            the end of a file; -1 on error.  fds 0..2: the console.
//   unlink(name)          -> 0, or -1 (missing, or open in some process).
//   On a read-only disk, what would change it fails with ERR_READONLY: open that
//   would create or truncate a file, write to a file, unlink.
//   listdir(i, struct dirinfo *buf) -> 1 and the i'th name (i = 0, 1, ...) and its
//                            size, 0 past the last, -1 if there is no file system.
// ping(ip, seq): send ICMP echo request seq to ip (host order, 10.0.0.2 is
//                 0x0a000002) and wait up to half a second: 0 if the reply came,
//                 -1 if not, -2 if the machine has no network card.
// UDP (net.c), at most 512 bytes a datagram; -2 from any of them: no network card.
//   udpbind(port)          -> port (0 picks a free one from 49152 up), or -1 if it
//                             is taken or four ports are bound already.
//   udpclose(port)         -> 0, or -1 if the caller has not bound port.  exit()
//                             releases a process's ports.
//   udpsend(sport, ip, dport, buf, n) -> n, or -1 (sport not the caller's, n too
//                             big, or ip does not answer ARP within half a second).
//   udprecv(port, buf, max, from, timeout) -> the datagram's length (up to max
//                             bytes land in buf; from gets {ip, port} of the
//                             sender unless it is 0), -1 (not the caller's port,
//                             or killed), -2 if timeout ticks passed (0: wait on).
#define O_CREATE 0x1
#define O_TRUNC  0x2
#define ERR_READONLY (-2)
