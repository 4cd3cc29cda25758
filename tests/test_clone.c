/* test_clone.c -- `macvm clone SRC DST` (run through ./macvm or $MACVM_BIN).
 *
 * Contract under test (issue acceptance item "Clone"):
 *   - DST gets every file of SRC byte for byte (subfolders too), and Disk.img
 *     stays sparse: DST's Disk.img occupies no more blocks than SRC's.
 *   - An existing DST (folder, file or link) is refused with 73 and not touched;
 *     a missing SRC with 66 and nothing created.
 *   - The copy is made in a hidden folder beside DST (.NAME-clone-XXXXXX) and
 *     renamed at the end: kill -9 mid-copy leaves no DST, and `info DST`
 *     names the folder left with the command that removes it.
 *   - Links to files are copied as data, never as links; a link to a folder,
 *     a dangling link, a FIFO or device in SRC: refused in one line, no DST.
 *   - macvm's lock: two clones of one source both succeed; a clone of a bundle
 *     macvm runs, or a run of one being cloned: 75, "busy: macvm (PID N)".
 *   - Ctrl-C mid-copy: exit 130 and no DST.  A full disk (RLIMIT_FSIZE: writes
 *     fail with EFBIG): exit 74 and no DST.
 *   - A running VM (AuxiliaryStorage locked): exit 75 and nothing written.
 *   - DST inside SRC: refused up front (64).
 *   - SRC is never written: the same entries, contents and mtimes afterwards.
 * On Linux ext4 or tmpfs there is no copy-on-write, so the sparse copy path runs;
 * on a copy-on-write temp dir the Ctrl-C and full-disk tests skip themselves.
 */
#include "test_vm_common.c"

/* A source bundle with all kinds of content: the configured fixture, a 16 GiB
 * sparse Disk.img with real data at a few offsets (unaligned ones too), a
 * saved state and a logs/ folder with a run. */
static char *vt_clone_source(const char *dir)
{
    char *src = vt_bundle(dir, "Source.bundle", "configured", 16 * VT_GIB);
    char *disk = t_path_join(src, "Disk.img");
    vt_fill(disk, 0, 64 * VT_KIB, 1);
    vt_fill(disk, 1 * VT_GIB + 12288, 1 * VT_MIB + 123, 2);
    vt_fill(disk, 8 * VT_GIB - 4096, 8192, 3);
    vt_fill(disk, 16 * VT_GIB - 4096, 4096, 4);
    cr_assert_eq(vt_size(disk), 16 * VT_GIB);
    char *save = t_path_join(src, "SaveFile.vzvmsave");
    vt_fill(save, 0, 100 * VT_KIB + 7, 5);
    char *logs = t_path_join(src, "logs"), *run = t_path_join(logs, "2026-01-02T03-04-05");
    vt_mkdir(logs);
    vt_mkdir(run);
    char *json = t_path_join(run, "run.json"), *log = t_path_join(run, "vz.ndjson");
    vt_write_text(json, "{\"outcome\":{\"result\":\"guest-stopped\"}}\n");
    vt_write_text(log, "{\"eventMessage\":\"one\"}\n{\"eventMessage\":\"two\"}\n");
    free(json);
    free(log);
    free(run);
    free(logs);
    free(save);
    free(disk);
    return src;
}

Test(clone, copies_every_file_and_keeps_disk_sparse, .init = vt_init, .fini = t_tmp_fini, .timeout = 120)
{
    char *src = vt_clone_source(t_tmp);
    char *dst = t_path_join(t_tmp, "Copy.bundle");
    char *before = vt_snapshot(src);
    struct proc_result r = run_macvm("clone", src, dst, NULL);
    cr_assert_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    cr_expect_eq(r.err_len, 0, "stderr should be empty: %s", r.err);
    cr_expect_eq(count_lines(r.out), 1, "one line on stdout: %s", r.out);
    char want[4096];
    snprintf(want, sizeof want, "%s -> %s", src, dst);
    cr_expect(strstr(r.out, want) != NULL, "stdout should say \"%s\": %s", want, r.out);
    proc_result_free(&r);

    vt_expect_copy(src, dst);
    char *sd = t_path_join(src, "Disk.img"), *dd = t_path_join(dst, "Disk.img");
    cr_expect_eq(vt_size(dd), 16 * VT_GIB, "DST's Disk.img has the logical size of SRC's");
    cr_expect(vt_allocated(dd) <= vt_allocated(sd), "DST's Disk.img occupies %llu bytes, more than SRC's %llu",
              (unsigned long long)vt_allocated(dd), (unsigned long long)vt_allocated(sd));
    char why[256] = "";
    cr_expect(vt_same_content(sd, dd, why, sizeof why), "Disk.img content: %s", why);
    vt_expect_unchanged(src, before, "clone");

    /* the copy is a bundle macvm reads as the original */
    r = run_macvm("info", "--json", dst, NULL);
    const struct plist *j = vt_expect_json_ok(&r, "info --json of the copy");
    vt_json_str(j, "machine_identifier.ecid", VT_ECID, r.out);
    vt_json_uint(j, "config.cpu_count", 4, r.out);
    vt_json_bool(j, "saved_state", true, r.out);
    vt_json_str(j, "runs.0.outcome", "guest-stopped", r.out);
    proc_result_free(&r);
    free(sd);
    free(dd);
    free(dst);
    free(src);
}

Test(clone, refuses_an_existing_dst_without_touching_it, .init = vt_init, .fini = t_tmp_fini)
{
    char *src = vt_bundle(t_tmp, "Source.bundle", "apple", 4 * VT_GIB);
    char *src_before = vt_snapshot(src);

    /* a folder with something in it */
    char *dst = t_path_join(t_tmp, "Existing.bundle");
    vt_mkdir(dst);
    char *keep = t_path_join(dst, "keep.txt");
    vt_write_text(keep, "precious\n");
    char *before = vt_snapshot(dst);
    struct proc_result r = run_macvm("clone", src, dst, NULL);
    vt_expect_refusal(&r, EX_CANTCREAT, dst, "existing folder");
    proc_result_free(&r);
    vt_expect_unchanged(dst, before, "clone onto an existing folder");

    /* an empty folder is still an existing path */
    char *empty = t_path_join(t_tmp, "Empty");
    vt_mkdir(empty);
    before = vt_snapshot(empty);
    r = run_macvm("clone", src, empty, NULL);
    vt_expect_refusal(&r, EX_CANTCREAT, empty, "existing empty folder");
    proc_result_free(&r);
    vt_expect_unchanged(empty, before, "clone onto an empty folder");

    /* a regular file */
    char *file = t_path_join(t_tmp, "file.bundle");
    vt_write_text(file, "a file\n");
    before = vt_snapshot(file);
    r = run_macvm("clone", src, file, NULL);
    vt_expect_refusal(&r, EX_CANTCREAT, file, "existing file");
    proc_result_free(&r);
    vt_expect_unchanged(file, before, "clone onto a file");

    /* a dangling symbolic link */
    char *link = t_path_join(t_tmp, "link.bundle");
    cr_assert_eq(symlink("nowhere", link), 0);
    r = run_macvm("clone", src, link, NULL);
    vt_expect_refusal(&r, EX_CANTCREAT, link, "dangling link");
    proc_result_free(&r);
    char *nowhere = t_path_join(t_tmp, "nowhere");
    cr_expect(!vt_exists(nowhere), "clone followed the link and created %s", nowhere);
    struct stat st;
    cr_expect(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "the link should stay a link");

    vt_expect_unchanged(src, src_before, "refused clones");
    free(nowhere);
    free(link);
    free(file);
    free(empty);
    free(keep);
    free(dst);
    free(src);
}

Test(clone, refuses_a_missing_source, .init = vt_init, .fini = t_tmp_fini)
{
    char *src = t_path_join(t_tmp, "Nothing.bundle"), *dst = t_path_join(t_tmp, "Copy.bundle");
    struct proc_result r = run_macvm("clone", src, dst, NULL);
    vt_expect_refusal(&r, EX_NOINPUT, src, "missing source");
    cr_expect_eq(r.out_len, 0, "stdout should be empty: %s", r.out);
    cr_expect(!vt_exists(dst), "%s must not be created", dst);
    proc_result_free(&r);

    /* a folder without Disk.img is not a bundle */
    char *half = vt_bundle(t_tmp, "Half.bundle", "apple", 0);
    r = run_macvm("clone", half, dst, NULL);
    vt_expect_refusal(&r, EX_NOINPUT, "Disk.img", "source without Disk.img");
    cr_expect(!vt_exists(dst), "%s must not be created", dst);
    proc_result_free(&r);
    free(half);
    free(dst);
    free(src);
}

Test(clone, needs_a_source_and_a_destination, .init = vt_init, .fini = t_tmp_fini)
{
    char *src = vt_bundle(t_tmp, "Source.bundle", "apple", 4 * VT_GIB);
    struct proc_result r = run_macvm("clone", src, NULL);
    vt_expect_refusal(&r, EX_USAGE, "clone", "one argument");
    proc_result_free(&r);
    cr_expect_eq(vt_count_entries(t_tmp), 1, "nothing may be created next to the source");
    free(src);
}

/* Ctrl-C while Disk.img is copied: exit 130, the partial DST removed, SRC
 * untouched.  The copy must last long enough to be interrupted: a few hundred
 * MiB of real data, doubled while the copy wins the race. */
Test(clone, interrupted_removes_the_partial_copy, .init = vt_init, .fini = t_tmp_fini, .timeout = 300)
{
    VT_SKIP_ON_COPY_ON_WRITE();
    char *src = vt_bundle(t_tmp, "Source.bundle", "configured", 0);
    char *disk = t_path_join(src, "Disk.img");
    char *out = t_path_join(t_tmp, "out.txt"), *err = t_path_join(t_tmp, "err.txt");
    const char *bin = t_env_or("MACVM_BIN", "./macvm");
    uint64_t data = 256 * VT_MIB;
    for (int attempt = 0; attempt < 4; attempt++, data *= 2) {
        vt_sparse(disk, 8 * VT_GIB);
        vt_fill(disk, 0, data, (unsigned)attempt + 10);
        char *before = vt_snapshot(src);
        char name[64];
        snprintf(name, sizeof name, "Copy-%d.bundle", attempt);
        char *dst = t_path_join(t_tmp, name);
        const char *argv[] = {bin, "clone", src, dst, NULL};
        pid_t pid = vt_spawn(argv, out, err, -1);
        int status;
        bool signaled;
        if (!vt_wait_for_clone(t_tmp, name, pid, &status, &signaled)) {
            cr_assert_eq(status, 0, "clone failed before it could be interrupted: exit %d", status);
            t_remove_tree(dst);
            free(before);
            free(dst);
            continue;   /* finished first: more data */
        }
        cr_assert_eq(kill(pid, SIGINT), 0);
        status = vt_wait(pid, &signaled);
        if (status == 0) {
            t_remove_tree(dst);
            free(before);
            free(dst);
            continue;   /* finished before the signal arrived: more data */
        }
        size_t n;
        char *errtext = (char *)t_read_file(err, &n);
        cr_expect(!signaled, "macvm was killed by the signal instead of handling it (status %d)", status);
        cr_expect_eq(status, 130, "exit %d, want 130; stderr: %s", status, errtext);
        cr_expect(!vt_exists(dst), "the partial copy %s was left behind", dst);
        char *hidden = vt_find_prefix(t_tmp, ".Copy-");
        cr_expect(hidden == NULL, "the folder of the partial copy %s was left behind", hidden);
        free(hidden);
        cr_expect(strstr(errtext, "interrupted") != NULL, "stderr should say interrupted: %s", errtext);
        cr_expect_eq(count_lines(errtext), 1, "one line on stderr: %s", errtext);
        vt_expect_unchanged(src, before, "interrupted clone");
        cr_expect_eq(vt_count_entries(t_tmp), 3, "only Source.bundle and the output files should be left");
        free(errtext);
        free(dst);
        free(out);
        free(err);
        free(disk);
        free(src);
        return;
    }
    cr_assert_fail("the copy of %llu MiB always finished before SIGINT arrived", (unsigned long long)(data >> 20));
}

/* Runs `macvm clone SRC DST` with RLIMIT_FSIZE set to limit: writes beyond it
 * fail with EFBIG as on a full disk.  Expects 74, no DST, SRC untouched. */
static void vt_clone_disk_full(const char *src, long long limit)
{
    char *dst = t_path_join(t_tmp, "Copy.bundle");
    char *out = t_path_join(t_tmp, "out.txt"), *err = t_path_join(t_tmp, "err.txt");
    char *before = vt_snapshot(src);
    const char *argv[] = {t_env_or("MACVM_BIN", "./macvm"), "clone", src, dst, NULL};
    bool signaled;
    int status = vt_wait(vt_spawn(argv, out, err, limit), &signaled);
    size_t n;
    char *errtext = (char *)t_read_file(err, &n);
    cr_expect(!signaled, "macvm was killed (status %d: SIGXFSZ?); stderr: %s", status, errtext);
    cr_expect_eq(status, EX_IOERR, "exit %d, want 74; stderr: %s", status, errtext);
    cr_expect(!vt_exists(dst), "the partial copy %s was left behind", dst);
    cr_expect_eq(count_lines(errtext), 1, "one line on stderr: %s", errtext);
    cr_expect(strstr(errtext, "Disk.img") != NULL, "stderr should name Disk.img: %s", errtext);
    vt_expect_unchanged(src, before, "clone onto a full disk");
    free(errtext);
    free(out);
    free(err);
    free(dst);
}

Test(clone, disk_full_while_writing_data, .init = vt_init, .fini = t_tmp_fini, .timeout = 60)
{
    VT_SKIP_ON_COPY_ON_WRITE();
    char *src = vt_bundle(t_tmp, "Source.bundle", "configured", 1 * VT_GIB);
    char *disk = t_path_join(src, "Disk.img");
    vt_fill(disk, 0, 4 * VT_MIB, 1);
    vt_fill(disk, 512 * VT_MIB, 1 * VT_MIB, 2);
    vt_clone_disk_full(src, 2 * VT_MIB);
    free(disk);
    free(src);
}

Test(clone, disk_full_when_setting_the_size, .init = vt_init, .fini = t_tmp_fini, .timeout = 60)
{
    VT_SKIP_ON_COPY_ON_WRITE();
    /* the data fits under the limit; the sparse tail does not */
    char *src = vt_bundle(t_tmp, "Source.bundle", "configured", 1 * VT_GIB);
    char *disk = t_path_join(src, "Disk.img");
    vt_fill(disk, 0, 256 * VT_KIB, 1);
    vt_clone_disk_full(src, 1 * VT_MIB);
    free(disk);
    free(src);
}

/* A running VM holds a lock on AuxiliaryStorage: the copy would not be consistent. */
static void vt_clone_locked(int how)
{
    char *src = vt_bundle(t_tmp, "Source.bundle", "apple", 4 * VT_GIB);
    char *aux = t_path_join(src, "AuxiliaryStorage"), *dst = t_path_join(t_tmp, "Copy.bundle");
    char *before = vt_snapshot(src);
    int fd = open(aux, O_RDWR);
    cr_assert(fd >= 0);
    if (how == 0) {
        cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), 0, "flock: %s", strerror(errno));
    } else {
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        cr_assert_eq(fcntl(fd, F_SETLK, &fl), 0, "fcntl lock: %s", strerror(errno));
    }
    struct proc_result r = run_macvm("clone", src, dst, NULL);
    vt_expect_refusal(&r, EX_TEMPFAIL, src, how == 0 ? "flock" : "fcntl lock");
    cr_expect(strstr(r.err, "running") != NULL, "stderr should say the VM is running: %s", r.err);
    cr_expect(!vt_exists(dst), "%s must not be created", dst);
    proc_result_free(&r);
    close(fd);
    vt_expect_unchanged(src, before, "clone of a running VM");
    free(dst);
    free(aux);
    free(src);
}

Test(clone, refuses_a_running_vm_flock, .init = vt_init, .fini = t_tmp_fini)
{
    vt_clone_locked(0);
}

Test(clone, refuses_a_running_vm_fcntl_lock, .init = vt_init, .fini = t_tmp_fini)
{
    vt_clone_locked(1);
}

/* `macvm clone VM.bundle VM.bundle/backup`: a copy inside the source would
 * copy itself over and over.  It is refused (64) up front, and SRC never written. */
Test(clone, into_its_own_source_is_refused_without_writing_it, .init = vt_init, .fini = t_tmp_fini,
     .timeout = 60)
{
    char *src = vt_bundle(t_tmp, "Source.bundle", "apple", 1 * VT_GIB);
    char *dst = t_path_join(src, "Backup.bundle");
    char *before = vt_snapshot(src);
    struct proc_result r = run_macvm("clone", src, dst, NULL);
    vt_expect_refusal(&r, EX_USAGE, dst, "clone into its own source");
    cr_expect(!vt_exists(dst), "%s was left behind", dst);
    proc_result_free(&r);
    /* the same through another spelling of the source */
    char *dotted = t_path_join(src, "."), *dst2 = t_path_join(src, "logs-copy");
    r = run_macvm("clone", dotted, dst2, NULL);
    vt_expect_refusal(&r, EX_USAGE, dst2, "clone of SRC/. into SRC/logs-copy");
    cr_expect(!vt_exists(dst2), "%s was left behind", dst2);
    proc_result_free(&r);
    free(dst2);
    free(dotted);
    vt_expect_unchanged(src, before, "clone into its own source");
    free(dst);
    free(src);
}

/* ------------------------- links, FIFOs, kill -9, the lock ------------------------- */

/* A Disk.img on another volume, linked into the bundle: the clone gets its
 * data, never the link, so writing the clone never writes the user's disk. */
Test(clone, a_link_to_a_file_is_copied_as_data, .init = vt_init, .fini = t_tmp_fini)
{
    char *src = vt_bundle(t_tmp, "Source.bundle", "configured", 0);
    char *elsewhere = t_path_join(t_tmp, "other-volume-disk.img"), *disk = t_path_join(src, "Disk.img");
    vt_sparse(elsewhere, 64 * VT_MIB);
    vt_fill(elsewhere, 4096, 8192, 7);
    cr_assert_eq(symlink(elsewhere, disk), 0);
    char *dst = t_path_join(t_tmp, "Copy.bundle"), *copy = t_path_join(dst, "Disk.img");
    struct proc_result r = run_macvm("clone", src, dst, NULL);
    cr_assert_eq(r.status, 0, "clone: exit %d; stderr: %s", r.status, r.err);
    struct stat st;
    cr_assert_eq(lstat(copy, &st), 0);
    cr_expect(S_ISREG(st.st_mode), "the clone's Disk.img should be a file of its own, not a link");
    char why[256] = "";
    cr_expect(vt_same_content(elsewhere, copy, why, sizeof why), "the clone's Disk.img: %s", why);
    uint64_t h = vt_hash_file(elsewhere);
    vt_fill(copy, 4096, 4096, 9);
    cr_expect_eq(vt_hash_file(elsewhere), h, "writing the clone wrote the disk the source links to");
    proc_result_free(&r);
    free(copy);
    free(dst);
    free(disk);
    free(elsewhere);
    free(src);
}

/* What a bundle must not hold: refused in one line, with no clone and no folder left. */
Test(clone, refuses_links_to_folders_dangling_links_and_fifos, .init = vt_init, .fini = t_tmp_fini, .timeout = 10)
{
    static const char *const kinds[] = {"a link to a folder", "a dangling link", "a FIFO"};
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "Source%d.bundle", i);
        char *src = vt_bundle(t_tmp, name, "configured", VT_MIB), *odd = t_path_join(src, "logs");
        int rc = i == 0 ? symlink(t_tmp, odd) : i == 1 ? symlink("/nonexistent/macvm", odd) : mkfifo(odd, 0644);
        cr_assert_eq(rc, 0, "%s: %s", kinds[i], strerror(errno));
        char *dst = t_path_join(t_tmp, "Copy.bundle");
        struct proc_result r = run_macvm("clone", src, dst, NULL);
        cr_expect_eq(r.status, EX_DATAERR, "%s: exit %d, want 65; stderr: %s", kinds[i], r.status, r.err);
        cr_expect(strstr(r.err, odd) != NULL && count_lines(r.err) == 1, "%s: one line naming %s: %s", kinds[i], odd,
                  r.err);
        cr_expect(!vt_exists(dst), "%s: %s was made", kinds[i], dst);
        char *left = vt_find_prefix(t_tmp, ".Copy.bundle");
        cr_expect(left == NULL, "%s: %s was left", kinds[i], left);
        free(left);
        proc_result_free(&r);
        free(dst);
        free(odd);
        free(src);
    }
}

/* kill -9 at any moment of a clone: either the whole clone is there under its
 * name, or none is, and `info` names the folder left with the command that
 * removes it. */
Test(clone, kill_9_never_leaves_a_partial_bundle, .init = vt_init, .fini = t_tmp_fini, .timeout = 30)
{
    char *src = vt_bundle(t_tmp, "Source.bundle", "configured", 2 * VT_GIB);
    char *disk = t_path_join(src, "Disk.img");
    vt_fill(disk, 0, 32 * VT_MIB, 3);
    char *dst = t_path_join(t_tmp, "Copy.bundle");
    char *out = t_path_join(t_tmp, "out.txt"), *err = t_path_join(t_tmp, "err.txt");
    const char *argv[] = {t_env_or("MACVM_BIN", "./macvm"), "clone", src, dst, NULL};
    pid_t pid = vt_spawn(argv, out, err, -1);
    int status;
    bool signaled, copying = vt_wait_for_clone(t_tmp, "Copy.bundle", pid, &status, &signaled);
    if (copying) {
        kill(pid, SIGKILL);
        vt_wait(pid, &signaled);
    }
    char *left = vt_find_prefix(t_tmp, ".Copy.bundle-clone-");
    if (vt_exists(dst)) {   /* it finished first: then it is whole */
        vt_expect_copy(src, dst);
        cr_expect(left == NULL, "a finished clone left %s", left);
    } else {
        cr_assert(left != NULL, "no clone and no folder of one");
        struct proc_result r = run_macvm("info", dst, NULL);
        cr_expect_eq(r.status, EX_NOINPUT, "info of a killed clone: exit %d; stderr: %s", r.status, r.err);
        char want[4200];
        snprintf(want, sizeof want, "rm -r %s", left);
        cr_expect(strstr(r.err, want) != NULL, "info should name %s with its rm -r: %s", left, r.err);
        proc_result_free(&r);
    }
    free(left);
    free(out);
    free(err);
    free(dst);
    free(disk);
    free(src);
}

/* Two clones of one source at once both succeed: the lock is shared for reading. */
Test(clone, two_clones_of_one_source_both_succeed, .init = vt_init, .fini = t_tmp_fini, .timeout = 30)
{
    char *src = vt_bundle(t_tmp, "Source.bundle", "configured", VT_GIB);
    const char *bin = t_env_or("MACVM_BIN", "./macvm");
    for (int round = 0; round < 10; round++) {
        pid_t pids[2];
        char *dsts[2], *outs[2];
        for (int k = 0; k < 2; k++) {
            char name[64];
            snprintf(name, sizeof name, "Copy-%d-%d.bundle", round, k);
            dsts[k] = t_path_join(t_tmp, name);
            snprintf(name, sizeof name, "err-%d-%d.txt", round, k);
            outs[k] = t_path_join(t_tmp, name);
            const char *argv[] = {bin, "clone", src, dsts[k], NULL};
            pids[k] = vt_spawn(argv, "/dev/null", outs[k], -1);
        }
        for (int k = 0; k < 2; k++) {
            int status = vt_wait(pids[k], NULL);
            size_t n;
            char *text = (char *)t_read_file(outs[k], &n);
            cr_expect_eq(status, 0, "round %d, clone %d: exit %d; stderr: %s", round, k, status, text);
            free(text);
            t_remove_tree(dsts[k]);
            free(dsts[k]);
            free(outs[k]);
        }
    }
    free(src);
}

/* A bundle whose lock a cloner holds (shared, its PID recorded): a clone
 * still runs beside it; the lock file itself must be a regular file. */
Test(clone, the_lock_file_must_be_a_regular_file, .init = vt_init, .fini = t_tmp_fini, .timeout = 10)
{
    char *src = vt_bundle(t_tmp, "Source.bundle", "configured", VT_MIB);
    char *lock = t_path_join(src, ".macvm.lock"), *dst = t_path_join(t_tmp, "Copy.bundle");
    cr_assert_eq(unlink(lock), 0);
    cr_assert_eq(mkfifo(lock, 0644), 0);
    struct proc_result r = run_macvm("clone", src, dst, NULL);
    cr_expect_eq(r.status, EX_DATAERR, "a FIFO as the lock: exit %d; stderr: %s", r.status, r.err);
    cr_expect(strstr(r.err, "FIFO") != NULL, "stderr should say what the lock file is: %s", r.err);
    cr_expect(!vt_exists(dst), "no clone");
    proc_result_free(&r);
    free(dst);
    free(lock);
    free(src);
}

/* A destination whose folder is missing, or is a file ("file/x"): refused
 * with 73 naming the folder and what to do, and nothing left beside it. */
Test(clone, a_destination_folder_that_is_missing_or_a_file_says_what_to_do, .init = vt_init, .fini = t_tmp_fini)
{
    char *src = vt_bundle(t_tmp, "Source.bundle", "apple", VT_GIB);
    char *file = t_path_join(t_tmp, "file"), *missing = t_path_join(t_tmp, "Missing");
    vt_write_text(file, "precious\n");
    char *through_file = t_path_join(file, "Copy.bundle"), *in_missing = t_path_join(missing, "Copy.bundle");
    struct proc_result r = run_macvm("clone", src, through_file, NULL);
    vt_expect_refusal(&r, EX_CANTCREAT, "not a folder", "a destination through a file");
    cr_expect(strstr(r.err, file) != NULL, "the file in the way should be named: %s", r.err);
    proc_result_free(&r);
    r = run_macvm("clone", src, in_missing, NULL);
    vt_expect_refusal(&r, EX_CANTCREAT, "mkdir -p", "a destination in a missing folder");
    cr_expect(strstr(r.err, missing) != NULL, "the missing folder should be named: %s", r.err);
    proc_result_free(&r);
    cr_expect(!vt_exists(missing), "%s must not be created", missing);
    cr_expect_eq(vt_count_entries(t_tmp), 2, "nothing may be left beside the source and the file");
    free(in_missing);
    free(through_file);
    free(missing);
    free(file);
    free(src);
}

/* An empty path is no bundle: refused as a usage error, nothing made in the
 * current folder (it would otherwise be taken for "."). */
Test(clone, an_empty_path_is_refused, .init = vt_init, .fini = t_tmp_fini)
{
    char *src = vt_bundle(t_tmp, "Source.bundle", "apple", VT_GIB);
    struct proc_result r = run_macvm("clone", src, "", NULL);
    vt_expect_refusal(&r, EX_USAGE, "empty", "an empty destination");
    proc_result_free(&r);
    r = run_macvm("clone", "", src, NULL);
    vt_expect_refusal(&r, EX_USAGE, "empty", "an empty source");
    proc_result_free(&r);
    r = run_fake("run", "--dry-run", "", NULL);
    vt_expect_refusal(&r, EX_USAGE, "empty", "run of an empty path");
    proc_result_free(&r);
    r = run_macvm("pvg-log", "", NULL);
    vt_expect_refusal(&r, EX_USAGE, "empty", "pvg-log of an empty path");
    proc_result_free(&r);
    /* and an empty file: named as empty, not as "cannot open" of nothing */
    r = run_macvm("ipsw", "", NULL);
    vt_expect_refusal(&r, EX_USAGE, "the image's path is empty", "ipsw of an empty path");
    proc_result_free(&r);
    r = run_fake("install", "--ipsw", "", "New.bundle", NULL);
    vt_expect_refusal(&r, EX_USAGE, "the --ipsw path is empty", "install --ipsw of an empty path");
    proc_result_free(&r);
    r = run_macvm("pvg-log", "--log", "", NULL);
    vt_expect_refusal(&r, EX_USAGE, "the --log path is empty", "pvg-log --log of an empty path");
    proc_result_free(&r);
    cr_expect_eq(vt_count_entries(t_tmp), 1, "nothing may be created beside the source");
    free(src);
}

/* What a clone killed with kill -9 left (.NAME-clone-XXXXXX, unlocked): the
 * next clone to that path succeeds, names it with the rm -r that removes it,
 * and leaves it alone (macvm removes nothing it did not make in this run). */
Test(clone, names_what_a_killed_clone_to_the_same_path_left, .init = vt_init, .fini = t_tmp_fini)
{
    char *src = vt_bundle(t_tmp, "Source.bundle", "apple", VT_GIB);
    char *left = t_path_join(t_tmp, ".Copy.bundle-clone-Ab12Cd");
    vt_mkdir(left);
    char *inner = t_path_join(left, "Copy.bundle"), *part = t_path_join(inner, "Disk.img");
    vt_mkdir(inner);
    vt_write_text(part, "half a disk\n");
    char *dst = t_path_join(t_tmp, "Copy.bundle");
    struct proc_result r = run_macvm("clone", src, dst, NULL);
    cr_expect_eq(r.status, 0, "exit %d; stderr: %s", r.status, r.err);
    char want[4200];
    snprintf(want, sizeof want, "rm -r %s", left);
    cr_expect(strstr(r.err, want) != NULL, "stderr should name %s with its rm -r: %s", left, r.err);
    cr_expect(vt_exists(part), "the leftover is the user's to remove");
    vt_expect_copy(src, dst);
    proc_result_free(&r);
    free(dst);
    free(part);
    free(inner);
    free(left);
    free(src);
}

/* A name a file system takes (at most 255 bytes) but whose hidden copy
 * folder it would not (.NAME-ephemeral-XXXXXX): refused with 64 before
 * anything is made, saying how long a name may be; the longest that fits works. */
Test(clone, a_name_too_long_for_its_copy_folder_is_refused_up_front, .init = vt_init, .fini = t_tmp_fini)
{
    char *src = vt_bundle(t_tmp, "Source.bundle", "apple", VT_GIB);
    char name[256];
    memset(name, 'N', 250);
    name[250] = 0;
    char *dst = t_path_join(t_tmp, name);
    struct proc_result r = run_macvm("clone", src, dst, NULL);
    vt_expect_refusal(&r, EX_USAGE, "at most 237 bytes", "a 250-byte destination name");
    proc_result_free(&r);
    cr_expect_eq(vt_count_entries(t_tmp), 1, "nothing may be created beside the source");
    cr_assert_eq(rename(src, dst), 0);   /* a bundle named so: no run of it, no disposable run */
    r = run_fake("run", "--dry-run", dst, NULL);
    vt_expect_refusal(&r, EX_USAGE, "at most 237 bytes", "a run of a bundle with a 250-byte name");
    proc_result_free(&r);
    cr_assert_eq(rename(dst, src), 0);
    name[237] = 0;   /* the longest that fits */
    char *fits = t_path_join(t_tmp, name);
    r = run_macvm("clone", src, fits, NULL);
    cr_expect_eq(r.status, 0, "a 237-byte name: exit %d; stderr: %s", r.status, r.err);
    proc_result_free(&r);
    r = run_fake("run", "--ephemeral", "--no-log", fits, NULL);
    cr_expect_eq(r.status, 0, "a disposable run of a 237-byte name: exit %d; stderr: %s", r.status, r.err);
    proc_result_free(&r);
    free(fits);
    free(dst);
    free(src);
}

/* While a clone to a path is made (its hidden folder locked), the path is
 * not there yet: info, run, another clone to it and install into it are told
 * to wait (75), not to create it; once no macvm holds the folder, it is a
 * leftover again. */
Test(clone, a_destination_in_the_making_is_busy, .init = vt_init, .fini = t_tmp_fini)
{
    char *src = vt_bundle(t_tmp, "Source.bundle", "apple", VT_GIB);
    char *folder = t_path_join(t_tmp, ".Copy.bundle-clone-Ab12Cd"), *lock = t_path_join(folder, ".macvm.lock");
    vt_mkdir(folder);
    vt_write_text(lock, "1 cloning\n");
    int fd = open(lock, O_RDWR);
    cr_assert(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0, "cannot lock %s", lock);   /* as a cloner does */
    char *dst = t_path_join(t_tmp, "Copy.bundle");
    struct proc_result r = run_macvm("info", dst, NULL);
    vt_expect_refusal(&r, EX_TEMPFAIL, "under way", "info of a clone in the making");
    proc_result_free(&r);
    r = run_fake("run", "--dry-run", dst, NULL);
    vt_expect_refusal(&r, EX_TEMPFAIL, "under way", "run of a clone in the making");
    proc_result_free(&r);
    r = run_macvm("clone", src, dst, NULL);
    vt_expect_refusal(&r, EX_TEMPFAIL, "under way", "a second clone to the same path");
    proc_result_free(&r);
    r = run_fake("install", "--ipsw", "tests/fixtures/ipsw/macOS-14.5-vm.ipsw", "--cpus", "2", dst, NULL);
    vt_expect_refusal(&r, EX_TEMPFAIL, "under way", "install into a clone in the making");
    proc_result_free(&r);
    cr_expect(!vt_exists(dst), "nothing may be made at %s meanwhile", dst);
    cr_expect_eq(vt_count_entries(t_tmp), 2, "nothing may be made beside the source and the clone's folder");
    close(fd);   /* the cloner is gone: its folder is a leftover */
    r = run_macvm("info", dst, NULL);
    vt_expect_refusal(&r, EX_NOINPUT, "rm -r", "info once the clone is gone");
    proc_result_free(&r);
    free(dst);
    free(lock);
    free(folder);
    free(src);
}
