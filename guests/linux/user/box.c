// box.c: one program that is every command, as busybox is.  /bin/echo, /bin/ls,
// /bin/sh and /init are links to /bin/box; the name it was started under
// (argv[0], its last path component) says which command to be.  `box NAME ARGS`
// works too.
//
// Why one binary: the runtime (printf, the system call wrappers) is linked once
// instead of into thirty programs, the initramfs is one file and some links, and
// adding a command is one function and one line in the table below.
#include "box.h"

static const struct applet {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *help;
} applets[] = {
    {"init", init_main, "the first process: mounts, network, the shell"},
    {"sh", sh_main, "the shell"},
    {"echo", echo_main, "echo [-n] WORDS...: print the words"},
    {"cat", cat_main, "cat [FILE...]: print files (or stdin)"},
    {"ls", ls_main, "ls [-l] [PATH...]: list directories"},
    {"rm", rm_main, "rm FILE...: remove files"},
    {"mkdir", mkdir_main, "mkdir DIR...: make directories"},
    {"rmdir", rmdir_main, "rmdir DIR...: remove empty directories"},
    {"ps", ps_main, "ps: list processes (from /proc)"},
    {"kill", kill_main, "kill [-SIG] PID...: send a signal"},
    {"sleep", sleep_main, "sleep SECONDS: wait"},
    {"uname", uname_main, "uname [-a]: the kernel's name and version"},
    {"dmesg", dmesg_main, "dmesg: the kernel's log"},
    {"free", free_main, "free: memory in use"},
    {"uptime", uptime_main, "uptime: time since boot and load"},
    {"mount", mount_main, "mount [-t TYPE] [-r] DEV DIR, or the mounts"},
    {"umount", umount_main, "umount DIR: unmount"},
    {"df", df_main, "df [DIR...]: file system space"},
    {"sync", sync_main, "sync: write cached data to the disks"},
    {"poweroff", poweroff_main, "poweroff: sync and switch off"},
    {"reboot", reboot_main, "reboot: sync and restart"},
    {"ping", ping_main, "ping A.B.C.D [COUNT]: ICMP echo"},
    {"udp", udp_main, "udp send|ask|listen|echo ...: UDP datagrams"},
};
#define NAPPLETS (int)(sizeof applets / sizeof applets[0])

// The table for `help` (the shell's builtin) and for `box` alone.
void list_applets(void)
{
    for (int i = 0; i < NAPPLETS; i++)
        printf("  %-9s %s\n", applets[i].name, applets[i].help);
}

int find_applet(const char *name)
{
    for (int i = 0; i < NAPPLETS; i++)
        if (!strcmp(applets[i].name, name))
            return i;
    return -1;
}

static int run_applet(int argc, char **argv)
{
    const char *slash = strrchr(argv[0], '/');
    const char *name = slash ? slash + 1 : argv[0];
    if (!strcmp(name, "box")) {
        if (argc < 2) {
            printf("usage: box COMMAND [ARGS...]; the commands:\n");
            list_applets();
            return 1;
        }
        return run_applet(argc - 1, argv + 1);
    }
    int i = find_applet(name);
    if (i < 0) {
        dprintf(2, "box: %s: no such command\n", name);
        return 127;
    }
    return applets[i].main(argc, argv);
}

// Called by _start (start.S) with what the kernel put on the stack.
void start_main(int argc, char **argv, char **envp)
{
    environ = envp;
    exit(run_applet(argc, argv));
}
