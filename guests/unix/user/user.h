// What a user program can call: the system calls (usys.S) and a tiny C library
// (ulib.c).
#pragma once

typedef unsigned int uint;

// A process as ps sees it (the kernel's struct procinfo, proc.h).
struct procinfo {
    int pid;
    int ppid;
    int state;                  // 1 sleeping, 2 runnable, 3 running, 4 zombie
    uint sz;
    char name[16];
};

// A name in the file system's directory (the listdir system call).
struct dirinfo {
    char name[16];              // 0-terminated
    uint size;                  // bytes
};
#define O_CREATE 0x1            // open: make the file if it is missing
#define O_TRUNC  0x2            // open: empty the file
#define ERR_READONLY (-2)       // open (to create or empty), write, unlink: read-only disk

// System calls: -1 on error.
int fork(void);
void exit(int status) __attribute__((noreturn));
int wait(int *status);
int kill(int pid);
int getpid(void);
char *sbrk(int n);
int sleep(int ticks);
int uptime(void);
int read(int fd, void *buf, int n);
int write(int fd, const void *buf, int n);
int exec(const char *name, char **argv);
int procs(struct procinfo *buf, int max);
int meminfo(uint counts[2]);
int shutdown(void);
int open(const char *name, int flags);
int close(int fd);
int unlink(const char *name);
int listdir(int index, struct dirinfo *buf);
int ping(uint ip, int seq);          // 0 answered, -1 timed out, -2 no network
// UDP (see ../syscall.h): at most UDP_MAX bytes a datagram; -2 means no network.
#define UDP_MAX 512
struct udpfrom { uint ip, port; };
int udpbind(int port);               // the port bound (0: any free one), or -1
int udpclose(int port);
int udpsend(int sport, uint ip, int dport, const void *buf, int n);
int udprecv(int port, void *buf, int max, struct udpfrom *from, int timeout);

#define TICK_HZ 100             // uptime() and sleep() count these

// ulib.c
uint strlen(const char *s);
int strcmp(const char *a, const char *b);
int atoi(const char *s);
void *memset(void *dst, int c, uint n);
void *memcpy(void *dst, const void *src, uint n);
void printf(const char *fmt, ...);
int getline(char *buf, int max);
int parse_ip(const char *s, uint *ip);
void print_ip(uint ip);
