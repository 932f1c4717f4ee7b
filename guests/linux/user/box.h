// box.h: the commands of /bin/box, each a main(argc, argv) of its own.
#pragma once
#include "rt.h"

int init_main(int argc, char **argv);       // init.c
int sh_main(int argc, char **argv);         // sh.c
int echo_main(int argc, char **argv);       // files.c
int cat_main(int argc, char **argv);
int ls_main(int argc, char **argv);
int rm_main(int argc, char **argv);
int mkdir_main(int argc, char **argv);
int rmdir_main(int argc, char **argv);
int ps_main(int argc, char **argv);         // procs.c
int kill_main(int argc, char **argv);
int sleep_main(int argc, char **argv);
int uname_main(int argc, char **argv);
int dmesg_main(int argc, char **argv);
int free_main(int argc, char **argv);
int uptime_main(int argc, char **argv);
int mount_main(int argc, char **argv);      // disk.c
int umount_main(int argc, char **argv);
int df_main(int argc, char **argv);
int sync_main(int argc, char **argv);
int poweroff_main(int argc, char **argv);
int reboot_main(int argc, char **argv);
int ping_main(int argc, char **argv);       // net.c
int udp_main(int argc, char **argv);

void list_applets(void);                    // box.c
int find_applet(const char *name);
