// TUFS, the file system on the virtio disk (format: fs.h): blocks, inodes, the
// free bitmap and the root directory.  No cache and no log: every call reads the
// blocks it needs and writes back what it changes before returning, so the disk is
// always as the host tool (tuivmm/disk/tufs.py) expects between system calls.  One
// hart and a kernel that never preempts itself: no locks.

#include "proc.h"
#include "fs.h"
#include "syscall.h"

static struct superblock sb;
static int fs_ready;                    // a valid TUFS was found at boot
static int readonly;                    // on a read-only disk: changes fail with ERR_READONLY
static uint8 scratch[BSIZE];            // the bitmap / inode / directory block in hand
static uint8 data[BSIZE];               // a content block in hand

static void bread(uint32 b, void *buf)  { virtio_disk_rw(buf, b, 0); }
static void bwrite(uint32 b, void *buf) { virtio_disk_rw(buf, b, 1); }

// Find the disk and check its superblock; "unix: no disk" and no file system if
// there is none, and no file system either if it is not a TUFS v1 that fits.
void fsinit(void)
{
    if (!virtio_disk_init()) {
        printf("unix: no disk\n");
        return;
    }
    bread(SUPERBLOCK, scratch);
    memmove(&sb, scratch, sizeof sb);
    if (sb.magic != FS_MAGIC || sb.version != FS_VERSION || sb.ninodes < 2 ||
        sb.size > virtio_disk_blocks() ||
        sb.inodestart != INODESTART || sb.datastart >= sb.size ||
        sb.bmapstart != INODESTART + (sb.ninodes + IPB - 1) / IPB ||
        sb.datastart != sb.bmapstart + (sb.size + BPB - 1) / BPB) {
        printf("unix: disk is not a TUFS v1 file system\n");
        return;
    }
    fs_ready = 1;
    readonly = virtio_disk_readonly();
    printf("unix: disk of %d blocks, %d inodes%s\n", sb.size, sb.ninodes,
           readonly ? ", read-only" : "");
}

int fs_present(void) { return fs_ready; }

// Inode inum into *ip / from *ip onto the disk.
static void iread(uint32 inum, struct dinode *ip)
{
    bread(IBLOCK(inum, sb), scratch);
    memmove(ip, scratch + (inum % IPB) * INODE_SIZE, INODE_SIZE);
}

static void iwrite(uint32 inum, const struct dinode *ip)
{
    bread(IBLOCK(inum, sb), scratch);
    memmove(scratch + (inum % IPB) * INODE_SIZE, ip, INODE_SIZE);
    bwrite(IBLOCK(inum, sb), scratch);
}

// A free data block, marked in use and zeroed; 0 if the disk is full.
static uint32 balloc(void)
{
    for (uint32 b = sb.datastart; b < sb.size; b++) {
        if (b == sb.datastart || b % BPB == 0)
            bread(BBLOCK(b, sb), scratch);
        uint8 *byte = &scratch[(b % BPB) / 8];
        if (!(*byte & (1 << (b % 8)))) {
            *byte |= 1 << (b % 8);
            bwrite(BBLOCK(b, sb), scratch);
            memset(data, 0, BSIZE);
            bwrite(b, data);
            return b;
        }
    }
    return 0;
}

static void bfree(uint32 b)
{
    bread(BBLOCK(b, sb), scratch);
    scratch[(b % BPB) / 8] &= ~(1 << (b % 8));
    bwrite(BBLOCK(b, sb), scratch);
}

// The disk block holding content block n of *ip, allocated (and *ip updated, not
// yet written) if alloc; 0 if there is none or the disk is full.
static uint32 bmap(struct dinode *ip, uint32 n, int alloc)
{
    if (n < NDIRECT) {
        if (!ip->addrs[n] && alloc)
            ip->addrs[n] = balloc();
        return ip->addrs[n];
    }
    n -= NDIRECT;
    if (n >= NINDIRECT)
        return 0;
    int fresh = !ip->indirect;
    if (fresh && (!alloc || !(ip->indirect = balloc())))
        return 0;
    static uint32 ind[NINDIRECT];
    bread(ip->indirect, ind);
    if (!ind[n] && alloc) {
        if ((ind[n] = balloc()) != 0) {
            bwrite(ip->indirect, ind);
        } else if (fresh) {             // disk full: no empty indirect block left behind
            bfree(ip->indirect);
            ip->indirect = 0;
        }
    }
    return ind[n];
}

// Free every content block of inode inum and make it empty.
static void itrunc(uint32 inum, struct dinode *ip)
{
    for (int i = 0; i < NDIRECT; i++)
        if (ip->addrs[i])
            bfree(ip->addrs[i]), ip->addrs[i] = 0;
    if (ip->indirect) {
        static uint32 ind[NINDIRECT];
        bread(ip->indirect, ind);
        for (int i = 0; i < NINDIRECT; i++)
            if (ind[i])
                bfree(ind[i]);
        bfree(ip->indirect);
        ip->indirect = 0;
    }
    ip->size = 0;
    iwrite(inum, ip);
}

// Copy up to n bytes of inode inum from offset off to dst (a user address if
// user, else a kernel one); bytes copied, or -1 on a bad user address.
int fs_read(uint32 inum, int user, uint32 dst, uint32 off, uint32 n)
{
    struct dinode di;
    iread(inum, &di);
    if (off >= di.size)
        return 0;
    if (n > di.size - off)
        n = di.size - off;
    for (uint32 done = 0, chunk; done < n; done += chunk, off += chunk, dst += chunk) {
        chunk = BSIZE - off % BSIZE;
        if (chunk > n - done)
            chunk = n - done;
        uint32 b = bmap(&di, off / BSIZE, 0);
        if (b)
            bread(b, data);
        else
            memset(data, 0, BSIZE);
        if (user) {
            if (copyout(myproc()->pagetable, dst, data + off % BSIZE, chunk) < 0)
                return -1;
        } else {
            memmove((void *)dst, data + off % BSIZE, chunk);
        }
    }
    return n;
}

// Copy n bytes from src (user address if user) into inode inum at offset off,
// growing it; bytes written (short if the disk or the file fills), or -1, or
// ERR_READONLY.
int fs_write(uint32 inum, int user, uint32 src, uint32 off, uint32 n)
{
    if (readonly)
        return ERR_READONLY;
    struct dinode di;
    iread(inum, &di);
    if (off > di.size)
        return -1;                      // no holes
    uint32 done = 0;
    for (uint32 chunk; done < n; done += chunk, off += chunk, src += chunk) {
        chunk = BSIZE - off % BSIZE;
        if (chunk > n - done)
            chunk = n - done;
        // The bytes first, so a bad user address allocates nothing.
        static uint8 incoming[BSIZE];
        if (user) {
            if (copyin(myproc()->pagetable, incoming, src, chunk) < 0)
                break;
        } else {
            memmove(incoming, (void *)src, chunk);
        }
        uint32 b = bmap(&di, off / BSIZE, 1);
        if (!b)
            break;
        bread(b, data);
        memmove(data + off % BSIZE, incoming, chunk);
        bwrite(b, data);
        if (off + chunk > di.size)
            di.size = off + chunk;
    }
    iwrite(inum, &di);
    return done ? (int)done : (n ? -1 : 0);
}

// 1..DIRSIZ printable characters, not '/' or space (fs.h).
static int goodname(const char *name)
{
    uint32 n = strlen(name);
    if (n < 1 || n > DIRSIZ)
        return 0;
    for (; *name; name++)
        if (*name <= ' ' || *name > '~' || *name == '/')
            return 0;
    return 1;
}

static int namematch(const struct dirent *de, const char *name)
{
    for (int i = 0; i < DIRSIZ; i++) {
        if (de->name[i] != name[i])
            return 0;
        if (!name[i])
            return 1;
    }
    return 1;
}

// The root directory's entry for name: its byte offset in the directory, or -1.
static int dirlookup(const char *name, struct dirent *out)
{
    struct dinode root;
    iread(ROOTINO, &root);
    for (uint32 off = 0; off < root.size; off += DIRENT_SIZE) {
        fs_read(ROOTINO, 0, (uint32)out, off, DIRENT_SIZE);
        if (out->inum && namematch(out, name))
            return off;
    }
    return -1;
}

// Open name in the root directory, creating an empty file if create; its inode
// number, or -1 (no file system, bad name, missing, a directory, disk full), or
// ERR_READONLY (missing, and the disk is read-only).
int fs_open(const char *name, int create)
{
    struct dirent de;
    if (!fs_ready || !goodname(name))
        return -1;
    if (dirlookup(name, &de) >= 0) {
        struct dinode di;
        iread(de.inum, &di);
        return di.type == T_FILE ? de.inum : -1;
    }
    if (!create)
        return -1;
    if (readonly)
        return ERR_READONLY;
    // A free inode, then a free directory slot (or the end of the directory).
    struct dinode di;
    uint32 inum;
    for (inum = ROOTINO + 1; inum < sb.ninodes; inum++) {
        iread(inum, &di);
        if (di.type == T_FREE)
            break;
    }
    if (inum == sb.ninodes)
        return -1;
    struct dinode root;
    iread(ROOTINO, &root);
    uint32 off;
    for (off = 0; off < root.size; off += DIRENT_SIZE) {
        fs_read(ROOTINO, 0, (uint32)&de, off, DIRENT_SIZE);
        if (!de.inum)
            break;
    }
    memset(&de, 0, sizeof de);
    de.inum = inum;
    memmove(de.name, name, strlen(name));
    if (fs_write(ROOTINO, 0, (uint32)&de, off, DIRENT_SIZE) != DIRENT_SIZE)
        return -1;                      // directory full: the inode stays free
    memset(&di, 0, sizeof di);
    di.type = T_FILE;
    di.nlink = 1;
    iwrite(inum, &di);
    return inum;
}

// Empty inode inum (for open's truncate); 0, or ERR_READONLY.
int fs_truncate(uint32 inum)
{
    if (readonly)
        return ERR_READONLY;
    struct dinode di;
    iread(inum, &di);
    itrunc(inum, &di);
    return 0;
}

// Remove name from the root directory and free its file; 0, or -1, or
// ERR_READONLY.  The caller makes sure no process has the file open.
int fs_unlink(const char *name)
{
    struct dirent de;
    int off;
    if (!fs_ready || !goodname(name) || (off = dirlookup(name, &de)) < 0)
        return -1;
    struct dinode di;
    iread(de.inum, &di);
    if (di.type != T_FILE)
        return -1;
    if (readonly)
        return ERR_READONLY;
    uint32 inum = de.inum;
    memset(&de, 0, sizeof de);
    fs_write(ROOTINO, 0, (uint32)&de, off, DIRENT_SIZE);
    itrunc(inum, &di);
    memset(&di, 0, sizeof di);
    iwrite(inum, &di);
    return 0;
}

// The index'th name in the root directory (empty slots skipped) into name
// (DIRSIZ + 1 bytes) and its size into *size: 1, 0 past the end, -1 if no file system.
int fs_listdir(uint32 index, char *name, uint32 *size)
{
    if (!fs_ready)
        return -1;
    struct dinode root, di;
    struct dirent de;
    iread(ROOTINO, &root);
    for (uint32 off = 0; off < root.size; off += DIRENT_SIZE) {
        fs_read(ROOTINO, 0, (uint32)&de, off, DIRENT_SIZE);
        if (!de.inum || index-- > 0)
            continue;
        memmove(name, de.name, DIRSIZ);
        name[DIRSIZ] = 0;
        iread(de.inum, &di);
        *size = di.size;
        return 1;
    }
    return 0;
}
