// The on-disk file system (TUFS): the contract between the kernel's driver and the
// host's tool, tuivmm/disk/tufs.py, which makes, reads and checks images.  The two must
// agree; tests/test_disk_tufs.py compares every #define below with diskfs.py.
//
// Little-endian; 1024-byte blocks numbered from the start of the disk.
//
//   block 0            unused (room for a boot block)
//   block 1            struct superblock, then zeros
//   inodestart ..      inode table: IPB struct dinodes per block; inode 0 is never used
//   bmapstart ..       free bitmap, 1 bit per block (BPB per block): bit b%8 of byte b/8
//                      is 1 when block b is in use; blocks below datastart are always 1
//   datastart .. size  data blocks: file content, directory entries, indirect blocks
//
// inodestart is always 2, bmapstart = inodestart + ceil(ninodes / IPB) and
// datastart = bmapstart + ceil(size / BPB); size is the whole disk.
//
// A file's byte k is in its (k / BSIZE)'th block: addrs[0 .. NDIRECT-1], then the
// NINDIRECT block numbers held in block `indirect`; so at most MAXFILE bytes.  Block
// numbers past the end of the content are 0, and no block belongs to two inodes.
//
// A directory is a file of struct dirents; inum 0 marks an empty slot.  Each begins
// with "." (itself) and ".." (its parent); the root is ROOTINO and is its own parent.
// nlink counts the directory entries that name an inode ("." included), so the root
// starts with 2 and a plain file has 1.  Names are 1..DIRSIZ printable ASCII
// characters, not '/' or space, zero-padded and unterminated when DIRSIZ long.
#pragma once

typedef unsigned short uint16;
typedef unsigned int uint32;

#define BSIZE      1024        // bytes per block
#define FS_MAGIC   0x53465554  // "TUFS" as bytes on disk
#define FS_VERSION 1
#define SUPERBLOCK 1           // block number of the superblock
#define INODESTART 2           // block number of the first inode-table block
#define ROOTINO    1           // inode number of the root directory

#define T_FREE 0               // dinode.type: a free inode
#define T_DIR  1               // a directory
#define T_FILE 2               // a regular file

#define NDIRECT    13
#define NINDIRECT  (BSIZE / 4)
#define MAXFILE    ((NDIRECT + NINDIRECT) * BSIZE)
#define INODE_SIZE 64          // sizeof(struct dinode)
#define IPB        (BSIZE / INODE_SIZE)   // inodes per block
#define BPB        (BSIZE * 8)            // bitmap bits per block
#define DIRSIZ     14
#define DIRENT_SIZE 16         // sizeof(struct dirent)

struct superblock {
  uint32 magic;       // FS_MAGIC
  uint32 version;     // FS_VERSION
  uint32 size;        // blocks on the disk
  uint32 ninodes;     // inode slots, inode 0 included
  uint32 inodestart;  // first block of the inode table
  uint32 bmapstart;   // first block of the free bitmap
  uint32 datastart;   // first data block
};

struct dinode {
  uint16 type;               // T_FREE, T_DIR or T_FILE
  uint16 nlink;              // directory entries naming this inode
  uint32 size;               // bytes of content
  uint32 addrs[NDIRECT];     // content blocks 0 .. NDIRECT-1 (0 = none)
  uint32 indirect;           // block of NINDIRECT more block numbers (0 = none)
};

struct dirent {
  uint16 inum;               // 0 = empty slot
  char name[DIRSIZ];
};

// Where inode i lives.
#define IBLOCK(i, sb)  ((sb).inodestart + (i) / IPB)
// The bitmap block holding block b's bit.
#define BBLOCK(b, sb)  ((sb).bmapstart + (b) / BPB)

_Static_assert(sizeof(struct superblock) == 28, "superblock is 7 words");
_Static_assert(sizeof(struct dinode) == INODE_SIZE, "dinodes tile a block");
_Static_assert(sizeof(struct dirent) == DIRENT_SIZE, "dirents tile a block");
