// sh: the shell, and the first process.  Reads a line, splits it into words and
// runs the program of that name (fork, exec, wait) or a built-in.  A trailing
// "&" runs the program in the background.  ctrl-C kills every job it started.

#include "user.h"

#define MAXWORDS 16

static void help(void)
{
    printf("built-ins:\n"
           "  help          this list\n"
           "  shutdown      power the machine off\n"
           "programs (run as NAME ARGS..., or NAME ARGS... & in the background):\n"
           "  echo ARGS     print the arguments\n"
           "  ps            list the processes\n"
           "  kill PID      kill a process\n"
           "  mem           free and used memory pages\n"
           "  uptime        clock ticks since boot\n"
           "  sleep TICKS   wait that many clock ticks (100 a second)\n"
           "  bench [N]     a CPU-bound job; prints a checksum\n"
           "  fault [KIND]  touch memory it may not: store, load, exec, kernel\n"
           "  spin          loop forever (stop it with ctrl-C or kill)\n"
           "  ls            the files on the disk, with their sizes\n"
           "  cat NAME      print a file\n"
           "  write NAME TEXT...  make NAME hold the words and a newline\n"
           "  rm NAME       remove a file\n"
           "  ping IP [N]   send N (3) ICMP echo requests to IP, e.g. 10.0.0.2\n"
           "  udp send|ask IP PORT TEXT...  send TEXT in a UDP datagram (ask: and\n"
           "                print the reply)\n"
           "  udp listen|echo PORT [N]  print (echo: and send back) datagrams\n"
           "  heap KIB      grow memory with sbrk, check it, give it back\n"
           "  syscalls [N]  make N getpid system calls (a trap-heavy job)\n");
}

// Split line into words at spaces; how many (argv ends with 0).
static int split(char *line, char **argv)
{
    int n = 0;
    for (char *p = line; *p;) {
        while (*p == ' ' || *p == '\t' || *p == '\n')
            *p++ = 0;
        if (!*p)
            break;
        if (n < MAXWORDS)
            argv[n++] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n')
            p++;
    }
    argv[n] = 0;
    return n;
}

// Run argv[0] as a program; wait for it unless background.
static void run(char **argv, int background)
{
    int pid = fork();
    if (pid < 0) {
        printf("sh: fork failed\n");
        return;
    }
    if (pid == 0) {
        exec(argv[0], argv);
        printf("sh: %s: no such program\n", argv[0]);
        exit(127);
    }
    if (background) {
        printf("[%d]\n", pid);
        return;
    }
    int got;
    while ((got = wait(0)) != pid && got >= 0)
        ;                       // reap finished background jobs on the way
}

int main(void)
{
    static char line[128];
    char *argv[MAXWORDS + 1];
    printf("unix shell: type help\n");
    for (;;) {
        printf("$ ");
        if (getline(line, sizeof line) == 0)
            continue;
        int argc = split(line, argv);
        if (argc == 0)
            continue;
        int background = strcmp(argv[argc - 1], "&") == 0;
        if (background) {
            argv[--argc] = 0;
            if (argc == 0)
                continue;
        }
        if (strcmp(argv[0], "help") == 0)
            help();
        else if (strcmp(argv[0], "shutdown") == 0)
            shutdown();
        else
            run(argv, background);
    }
}
