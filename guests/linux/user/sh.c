// sh: the shell.  Reads a line, splits it into words ("..." and '...' quote
// spaces), and runs it: a builtin (cd, pwd, exit, help) in the shell itself,
// anything else in a child process, by fork and execve of PATH's directories
// (/bin when PATH is unset).  `> FILE`, `>> FILE` and `< FILE` redirect the
// child's output or input.
//
//   sh            read commands from stdin ($ prompt if it is a terminal)
//   sh FILE       read them from FILE
//   sh -c LINE    run one line
//
// Job control, the kernel's way: the terminal sends SIGINT (ctrl-C) to its
// foreground process group, not to one process.  So each command gets a process
// group of its own (setpgid) and becomes the terminal's foreground group
// (ioctl TIOCSPGRP, tcsetpgrp in C libraries); ctrl-C then kills the command and
// not the shell, which ignores SIGINT anyway.  When the command ends the shell
// takes the terminal back.  A process not in the foreground group that touches
// the terminal's settings gets SIGTTOU, so the shell ignores that too.
#include "box.h"

#define MAXLINE 512
#define MAXARGS 32

static int interactive;         // stdin is a terminal: prompt, and hand it over
static int shell_pgid;
static int last_status;

// Make process group pgid the terminal's foreground group.
static void give_terminal(int pgid)
{
    if (interactive)
        ioctl(0, TIOCSPGRP, &pgid);
}

// Read one line from fd, a byte at a time so that we never read past it (a
// command we start may read the rest of our stdin).  0 at end of input.
static int read_line(int fd, char *buf, int max)
{
    int n = 0;
    char c;
    for (;;) {
        int r = read(fd, &c, 1);
        if (r == -EINTR)
            continue;
        if (r <= 0)
            return n > 0 ? n : 0;
        if (c == '\n')
            break;
        if (n < max - 1)
            buf[n++] = c;
    }
    buf[n] = 0;
    return n + 1;                   // an empty line still counts
}

// Split line into words, copied into `store`: spaces separate them, quotes keep
// them together, '#' starts a comment, and '<', '>', '>>' are words of their own.
static int split(const char *in, char *store, char **words)
{
    int n = 0;
    while (n < MAXARGS - 1) {
        while (*in == ' ' || *in == '\t')
            in++;
        if (!*in || *in == '#')
            break;
        words[n++] = store;
        if (*in == '<' || *in == '>') {
            *store++ = *in++;
            if (store[-1] == '>' && *in == '>')
                *store++ = *in++;
        } else {
            char quote = 0;
            for (; *in && (quote || !strchr(" \t<>", *in)); in++) {
                if (!quote && (*in == '"' || *in == '\''))
                    quote = *in;        // an opening quote
                else if (quote && *in == quote)
                    quote = 0;          // its closing one
                else
                    *store++ = *in;
            }
        }
        *store++ = 0;
    }
    words[n] = 0;
    return n;
}

// Redirect fd to path (opened with flags), in the child.
static void redirect(int fd, const char *path, int flags)
{
    int f = open(path, flags, 0644);
    if (f < 0)
        fail("sh", path, f);
    dup2(f, fd);
    close(f);
}

// In the child: the redirections, default signal handlers (the shell's SIG_IGN
// would survive execve, handlers reset to default only), then execve of each of
// PATH's directories in turn.
static void child(char **argv)
{
    setpgid(0, 0);
    give_terminal(getpid());
    int sigs[] = {SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU};
    for (int i = 0; i < 5; i++)
        sigaction_simple(sigs[i], SIG_DFL);
    int n = 0;
    for (int i = 0; argv[i]; i++) {
        int flags = -1, fd = 1;
        if (!strcmp(argv[i], ">"))
            flags = O_WRONLY | O_CREAT | O_TRUNC;
        else if (!strcmp(argv[i], ">>"))
            flags = O_WRONLY | O_CREAT | O_APPEND;
        else if (!strcmp(argv[i], "<"))
            flags = O_RDONLY, fd = 0;
        if (flags < 0) {
            argv[n++] = argv[i];
        } else if (!argv[++i]) {
            dprintf(2, "sh: a file name must follow %s\n", argv[i - 1]);
            exit(2);
        } else {
            redirect(fd, argv[i], flags);
        }
    }
    argv[n] = 0;
    if (n == 0)
        exit(0);
    int r = -ENOENT;
    if (strchr(argv[0], '/')) {
        r = execve(argv[0], argv, environ);
    } else {
        const char *path = "/bin";
        for (int i = 0; environ[i]; i++)
            if (!strncmp(environ[i], "PATH=", 5))
                path = environ[i] + 5;
        while (*path) {
            const char *end = strchr(path, ':');
            int len = end ? end - path : (int)strlen(path);
            char file[256];
            if (len < 128) {
                memcpy(file, path, len);
                snprintf(file + len, sizeof file - len, "/%s", argv[0]);
                int e = execve(file, argv, environ);   // returns only if it failed
                if (e != -ENOENT)
                    r = e;      // it exists but would not run: say why
            }
            path = end ? end + 1 : path + len;
        }
    }
    dprintf(2, "sh: %s: %s\n", argv[0], r == -ENOENT ? "not found" : strerror(-r));
    exit(127);
}

// Run a command in a child and wait for it (waitid); the terminal is the child's
// meanwhile.  A command stopped by ctrl-Z is killed: this shell has no `fg`.
static void run(char **argv)
{
    int pid = fork();
    if (pid < 0) {
        dprintf(2, "sh: fork: %s\n", strerror(-pid));
        return;
    }
    if (pid == 0)
        child(argv);
    setpgid(pid, pid);           // as the child does: whichever runs first
    give_terminal(pid);
    struct child_status st = {CLD_EXITED, 0};
    while (wait_child(pid, WEXITED | WSTOPPED, &st) == pid && st.how == CLD_STOPPED) {
        dprintf(2, "\nsh: %s stopped; this shell has no job control, so it is killed\n",
                argv[0]);
        kill(-pid, SIGKILL);
        kill(-pid, SIGCONT);
    }
    give_terminal(shell_pgid);
    if (st.how == CLD_EXITED) {
        last_status = st.code;
    } else {
        last_status = 128 + st.code;
        if (st.code == SIGINT)
            dprintf(2, "\n");
        else if (st.code != SIGPIPE)
            dprintf(2, "sh: %s: killed by signal %d\n", argv[0], st.code);
    }
}

static void builtin_cd(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/";
    int r = chdir(dir);
    if (r < 0)
        dprintf(2, "sh: cd: %s: %s\n", dir, strerror(-r));
    last_status = r < 0;
}

static void builtin_help(void)
{
    printf("builtins: cd [DIR], pwd, exit [STATUS], help\n"
           "redirection: CMD > FILE, CMD >> FILE, CMD < FILE\n"
           "commands (in /bin):\n");
    list_applets();
}

// Run one line; 1 if it was `exit`.
static int run_line(char *line)
{
    static char store[2 * MAXLINE];
    char *argv[MAXARGS];
    int argc = split(line, store, argv);
    if (argc == 0)
        return 0;
    if (!strcmp(argv[0], "exit")) {
        if (argc > 1)
            last_status = atoi(argv[1]);
        return 1;
    }
    if (!strcmp(argv[0], "cd")) {
        builtin_cd(argc, argv);
    } else if (!strcmp(argv[0], "pwd")) {
        char cwd[256];
        if (getcwd(cwd, sizeof cwd) > 0)
            printf("%s\n", cwd);
    } else if (!strcmp(argv[0], "help")) {
        builtin_help();
    } else {
        run(argv);
    }
    return 0;
}

int sh_main(int argc, char **argv)
{
    static char line[MAXLINE];
    int in = 0;
    struct termios_probe { char bytes[64]; } t;     // TCGETS fills a struct termios
    sigaction_simple(SIGINT, SIG_IGN);
    sigaction_simple(SIGQUIT, SIG_IGN);
    sigaction_simple(SIGTSTP, SIG_IGN);
    sigaction_simple(SIGTTOU, SIG_IGN);
    sigaction_simple(SIGTTIN, SIG_IGN);
    if (argc == 3 && !strcmp(argv[1], "-c")) {
        memcpy(line, argv[2], strlen(argv[2]) < MAXLINE ? strlen(argv[2]) + 1 : MAXLINE);
        line[MAXLINE - 1] = 0;
        run_line(line);
        return last_status;
    }
    if (argc == 2 && (in = open(argv[1], O_RDONLY, 0)) < 0)
        fail("sh", argv[1], in);
    // A terminal answers TCGETS (tcgetattr); a pipe or a file says ENOTTY.
    interactive = in == 0 && ioctl(0, TCGETS, &t) == 0;
    setpgid(0, 0);              // fails harmlessly for a session leader, already one
    shell_pgid = getpid();
    if (interactive)
        give_terminal(shell_pgid);
    for (;;) {
        if (interactive)
            write(1, "$ ", 2);
        if (read_line(in, line, sizeof line) == 0)
            break;
        if (run_line(line))
            break;
    }
    return last_status;
}
