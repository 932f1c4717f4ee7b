// procs.c: ps, kill, sleep, uname, dmesg, free, uptime: processes and the kernel.
#include "box.h"

// ps: every directory of /proc named by a number is a process.  Its `stat` file
// reads "PID (COMMAND) STATE PPID ...", its `cmdline` holds the arguments, each
// ended by a 0 byte (empty for kernel threads, shown as [COMMAND]).
static void ps_line(const char *pid)
{
    char path[64], stat[512], cmd[256];
    snprintf(path, sizeof path, "/proc/%s/stat", pid);
    if (read_file(path, stat, sizeof stat) <= 0)
        return;                         // gone meanwhile
    char *open = strchr(stat, '('), *close = strrchr(stat, ')');
    if (!open || !close || close[1] != ' ')
        return;
    *close = 0;
    char state = close[2];
    snprintf(path, sizeof path, "/proc/%s/cmdline", pid);
    int n = read_file(path, cmd, sizeof cmd);
    if (n > 0) {
        for (int i = 0; i < n - 1; i++)
            if (!cmd[i])
                cmd[i] = ' ';
    } else {
        snprintf(cmd, sizeof cmd, "[%s]", open + 1);
    }
    printf("%5s %c %s\n", pid, state, cmd);
}

int ps_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    static char buf[4096];
    int fd = open("/proc", O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        fail("ps", "/proc", fd);
    printf("  PID S COMMAND\n");
    int n;
    while ((n = getdents64(fd, buf, sizeof buf)) > 0)
        for (int off = 0; off < n;) {
            struct dirent64 *d = (struct dirent64 *)(buf + off);
            off += d->d_reclen;
            if (is_number(d->d_name))
                ps_line(d->d_name);
        }
    close(fd);
    return 0;
}

static const struct { const char *name; int sig; } signals[] = {
    {"HUP", SIGHUP}, {"INT", SIGINT}, {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
    {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"CONT", SIGCONT},
    {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},
};

// kill [-SIG] PID...: SIG a number or a name (TERM or SIGTERM); TERM by default.
int kill_main(int argc, char **argv)
{
    int sig = SIGTERM, i = 1, status = 0;
    if (argc > 1 && argv[1][0] == '-') {
        const char *s = argv[1] + 1;
        if (!strncmp(s, "SIG", 3))
            s += 3;
        sig = is_number(s) ? atoi(s) : -1;
        for (int j = 0; j < (int)(sizeof signals / sizeof signals[0]); j++)
            if (!strcmp(s, signals[j].name))
                sig = signals[j].sig;
        i++;
    }
    if (sig < 0 || i >= argc) {
        dprintf(2, "usage: kill [-SIGNAL] PID...\n");
        return 1;
    }
    for (; i < argc; i++) {
        int r = kill(atoi(argv[i]), sig);
        if (r < 0) {
            dprintf(2, "kill: %s: %s\n", argv[i], strerror(-r));
            status = 1;
        }
    }
    return status;
}

// sleep SECONDS, with a fraction if wanted: "sleep 0.25".
int sleep_main(int argc, char **argv)
{
    if (argc != 2) {
        dprintf(2, "usage: sleep SECONDS\n");
        return 1;
    }
    const char *s = argv[1];
    u64 ns = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        ns = ns * 10 + (*s - '0');
    ns *= 1000000000;
    if (*s == '.')
        for (u32 scale = 100000000; *++s >= '0' && *s <= '9'; scale /= 10)
            ns += (u64)(*s - '0') * scale;
    return sleep_ns(ns) < 0;
}

// uname: the kernel's utsname; -a for all of it.
int uname_main(int argc, char **argv)
{
    struct new_utsname u;
    uname(&u);
    if (argc > 1 && !strcmp(argv[1], "-a"))
        printf("%s %s %s %s %s\n", u.sysname, u.nodename, u.release, u.version, u.machine);
    else if (argc > 1 && !strcmp(argv[1], "-r"))
        printf("%s\n", u.release);
    else if (argc > 1 && !strcmp(argv[1], "-m"))
        printf("%s\n", u.machine);
    else if (argc > 1 && !strcmp(argv[1], "-n"))
        printf("%s\n", u.nodename);
    else
        printf("%s\n", u.sysname);
    return 0;
}

// dmesg: syslog(SYSLOG_ACTION_READ_ALL) copies the kernel's log buffer, without
// consuming it.  The buffer is 2^CONFIG_LOG_BUF_SHIFT bytes; ours holds 128 KiB.
// Each line starts with its priority, "<6>": we leave that out, as dmesg does.
int dmesg_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    static char log[128 * 1024];
    int n = syslog(SYSLOG_ACTION_READ_ALL, log, sizeof log), out = 0;
    if (n < 0)
        fail("dmesg", "syslog", n);
    for (int i = 0; i < n;) {
        int start = i;
        if (log[i] == '<') {            // skip "<digits>"
            while (i < n && log[i] != '>' && log[i] != '\n')
                i++;
            i = i < n && log[i] == '>' ? i + 1 : start;
        }
        while (i < n && log[i] != '\n')
            log[out++] = log[i++];
        if (i < n)
            log[out++] = log[i++];      // the newline
    }
    for (int done = 0, w; done < out; done += w)
        if ((w = write(1, log + done, out - done)) <= 0)
            return 1;
    return 0;
}

// sysinfo counts memory in units of mem_unit bytes.
static u64 kib(unsigned long count, unsigned unit)
{
    return ((u64)count * unit) >> 10;
}

int free_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    struct sysinfo si;
    sysinfo(&si);
    printf("%12s %10s %10s %10s %10s\n", "KiB:", "total", "used", "free", "buffers");
    printf("%12s %10llu %10llu %10llu %10llu\n", "Mem:", kib(si.totalram, si.mem_unit),
           kib(si.totalram - si.freeram, si.mem_unit), kib(si.freeram, si.mem_unit),
           kib(si.bufferram, si.mem_unit));
    printf("%12s %10llu %10llu %10llu\n", "Swap:", kib(si.totalswap, si.mem_unit),
           kib(si.totalswap - si.freeswap, si.mem_unit), kib(si.freeswap, si.mem_unit));
    return 0;
}

// uptime: seconds since boot, and the load averages, fixed-point with 16
// fraction bits (1 << SI_LOAD_SHIFT is a load of 1.0).
int uptime_main(int argc, char **argv)
{
    (void)argc, (void)argv;
    struct sysinfo si;
    sysinfo(&si);
    long up = si.uptime;
    printf("up %ld:%02ld:%02ld, %d processes, load average:", up / 3600, up / 60 % 60,
           up % 60, si.procs);
    for (int i = 0; i < 3; i++)
        printf(" %lu.%02lu", si.loads[i] >> SI_LOAD_SHIFT,
               ((si.loads[i] & ((1 << SI_LOAD_SHIFT) - 1)) * 100) >> SI_LOAD_SHIFT);
    printf("\n");
    return 0;
}
