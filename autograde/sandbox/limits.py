"""Operating-system limits for the sandbox process (Linux; each part degrades gracefully).

- resource limits: address space (memory), file size (raw writes to fd 1/2 and files), no core
  dumps, open files;
- a seccomp filter: no ``fork``/``vfork``, no ``clone`` without ``CLONE_THREAD`` (threads stay
  possible), ``clone3`` answers ENOSYS so libc falls back to ``clone``, no ``execve``, and no
  ``prctl(PR_SET_PDEATHSIG)``, so the process dies with its grader whatever it runs. Root
  ignores ``RLIMIT_NPROC``; this works for root too;
- no capabilities: the bounding, ambient, effective, permitted and inheritable sets are
  emptied, so even a grader run as root (with CAP_SYS_RESOURCE) cannot have its learner raise
  the resource limits;
- Landlock: read-only access to the Python installation, the project's ``src/`` and
  ``autograde/``, system libraries; read-write access to the submission's working directory
  only; no TCP bind/connect; no signals to processes outside the sandbox (ABI 6 scoping).

:func:`apply` returns a dict saying what is in force, which the grader reports.
"""

from __future__ import annotations

import ctypes
import os
import platform
import resource
import signal
import struct
import sys
from pathlib import Path

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
PR_SET_PDEATHSIG = 1
SECCOMP_MODE_FILTER = 2

_libc = ctypes.CDLL(None, use_errno=True)
_LINUX = platform.system() == "Linux" and hasattr(_libc, "prctl") and hasattr(_libc, "syscall")
if _LINUX:
    _libc.syscall.restype = ctypes.c_long
    _libc.prctl.restype = ctypes.c_int


def _prctl(option: int, arg2: int = 0, arg3=0, arg4: int = 0, arg5: int = 0) -> int:
    if not _LINUX:
        return -1
    return _libc.prctl(
        ctypes.c_int(option),
        ctypes.c_ulong(arg2),
        arg3 if isinstance(arg3, ctypes._Pointer | ctypes.Array) else ctypes.c_ulong(arg3),
        ctypes.c_ulong(arg4),
        ctypes.c_ulong(arg5),
    )


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent thread exits."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def cap_memory(limit: int) -> None:
    """Lower this process's soft address-space limit to ``limit`` bytes (the judge's cap).

    Only the soft limit: a sandbox started from here sets its own limits (soft and hard).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY or soft > limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def set_rlimits(memory: int, fsize: int, nofile: int = 256) -> dict:
    """Apply the resource limits; SIGXFSZ is ignored so oversized writes fail with EFBIG."""
    done = {}
    for name, res, value in (
        ("memory", resource.RLIMIT_AS, memory),
        ("file_size", resource.RLIMIT_FSIZE, fsize),
        ("core", resource.RLIMIT_CORE, 0),
        ("open_files", resource.RLIMIT_NOFILE, nofile),
    ):
        try:
            resource.setrlimit(res, (value, value))
            done[name] = value
        except (ValueError, OSError) as exc:
            done[name] = f"not set ({exc})"
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    return done


# --------------------------------------------------------------------------------------------
# seccomp
# --------------------------------------------------------------------------------------------

_ARCH = {
    "x86_64": (
        0xC000003E,
        {
            "fork": 57,
            "vfork": 58,
            "clone": 56,
            "clone3": 435,
            "execve": 59,
            "execveat": 322,
            "prctl": 157,
        },
    ),
    "aarch64": (
        0xC00000B7,
        {"clone": 220, "clone3": 435, "execve": 221, "execveat": 281, "prctl": 167},
    ),
}
_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW = 0x7FFF0000
_ERRNO = 0x00050000
CLONE_THREAD = 0x00010000


def _seccomp_program() -> list[tuple[int, int, int, int]] | None:
    arch = _ARCH.get(platform.machine())
    if arch is None:
        return None
    audit_arch, nr = arch
    import errno

    eagain, enosys, eperm = (_ERRNO | errno.EAGAIN, _ERRNO | errno.ENOSYS, _ERRNO | errno.EPERM)
    # Symbolic program: ("jeq", k, label_true) etc.; labels resolved below.
    prog: list = [
        ("ld", 4),
        ("jne", audit_arch, "eperm"),
        ("ld", 0),
    ]
    if platform.machine() == "x86_64":
        prog.append(("jge", 0x40000000, "eperm"))  # x32 ABI
    for name in ("fork", "vfork"):
        if name in nr:
            prog.append(("jeq", nr[name], "eagain"))
    prog += [
        ("jeq", nr["clone3"], "enosys"),
        ("jeq", nr["execve"], "eperm"),
        ("jeq", nr["execveat"], "eperm"),
        ("jeq", nr["prctl"], "prctl"),
        ("jeq", nr["clone"], "clone"),
        ("ret", _ALLOW),
        ("label", "prctl"),
        ("ld", 16),
        ("jeq", PR_SET_PDEATHSIG, "eperm"),  # the death signal stays as the grader set it
        ("ret", _ALLOW),
        ("label", "clone"),
        ("ld", 16),
        ("jset", CLONE_THREAD, "allow"),
        ("ret", eagain),
        ("label", "allow"),
        ("ret", _ALLOW),
        ("label", "eagain"),
        ("ret", eagain),
        ("label", "enosys"),
        ("ret", enosys),
        ("label", "eperm"),
        ("ret", eperm),
    ]
    positions, n = {}, 0
    for ins in prog:
        if ins[0] == "label":
            positions[ins[1]] = n
        else:
            n += 1
    out, pc = [], 0
    for ins in prog:
        kind = ins[0]
        if kind == "label":
            continue
        if kind == "ld":
            out.append((_LD_W_ABS, 0, 0, ins[1]))
        elif kind == "ret":
            out.append((_RET, 0, 0, ins[1]))
        else:
            offset = positions[ins[2]] - pc - 1
            if kind == "jeq":
                out.append((_JEQ, offset, 0, ins[1]))
            elif kind == "jne":
                out.append((_JEQ, 0, offset, ins[1]))
            elif kind == "jge":
                out.append((_JGE, offset, 0, ins[1]))
            elif kind == "jset":
                out.append((_JSET, offset, 0, ins[1]))
        pc += 1
    return out


def install_seccomp() -> str:
    """Install the process filter; return "on" or the reason it is not available."""
    program = _seccomp_program() if _LINUX else None
    if program is None:
        return f"off (no filter for {platform.machine()})"
    raw = b"".join(struct.pack("=HBBI", *ins) for ins in program)
    filt = ctypes.create_string_buffer(raw, len(raw))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = SockFprog(len(program), ctypes.cast(filt, ctypes.c_void_p))
    if _prctl(PR_SET_NO_NEW_PRIVS, 1) != 0:
        return f"off (no_new_privs: errno {ctypes.get_errno()})"
    res = _libc.prctl(
        ctypes.c_int(PR_SET_SECCOMP),
        ctypes.c_ulong(SECCOMP_MODE_FILTER),
        ctypes.byref(prog),
        ctypes.c_ulong(0),
        ctypes.c_ulong(0),
    )
    if res != 0:
        return f"off (prctl errno {ctypes.get_errno()})"
    return "on"


# --------------------------------------------------------------------------------------------
# Landlock
# --------------------------------------------------------------------------------------------

_SYS_CREATE, _SYS_ADD, _SYS_RESTRICT = 444, 445, 446
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1, 2, 4, 8
_FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 14, 1 << 15
_FILE_RIGHTS = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV
_READ = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when unavailable."""
    if not _LINUX:
        return 0
    res = _libc.syscall(ctypes.c_long(_SYS_CREATE), None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(int(res), 0)


def _handled_fs(abi: int) -> int:
    mask = (1 << 13) - 1
    if abi >= 2:
        mask |= 1 << 13  # REFER
    if abi >= 3:
        mask |= _FS_TRUNCATE
    if abi >= 5:
        mask |= _FS_IOCTL_DEV
    return mask


def default_read_paths() -> list[str]:
    """Read-only paths the sandbox needs: Python, site-packages, project code, system files."""
    import autograde
    import cnnlab

    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.realpath(sys.executable)}
    paths |= {p for p in sys.path if p and os.path.isdir(p) and p != os.getcwd()}
    paths |= {str(Path(cnnlab.__file__).resolve().parent), str(Path(autograde.__file__).parent)}
    paths |= {"/usr", "/lib", "/lib64", "/lib32", "/bin", "/proc/self", "/proc/cpuinfo"}
    paths |= {"/proc/meminfo", "/sys/devices/system/cpu", "/sys/fs/cgroup"}
    paths |= {"/etc/ld.so.cache", "/etc/localtime", "/etc/passwd", "/etc/group"}
    paths |= {"/etc/nsswitch.conf", "/etc/matplotlibrc", "/etc/ssl/certs"}
    paths |= {"/dev/urandom", "/dev/random", "/dev/zero"}
    if os.environ.get("CNNLAB_DATA"):
        paths.add(os.environ["CNNLAB_DATA"])
    root = Path(autograde.__file__).resolve().parent.parent
    # never the repository root itself (solutions/, build/, course/ live there)
    return sorted(p for p in paths if os.path.exists(p) and Path(p).resolve() != root)


def restrict_files(read_paths: list[str], write_paths: list[str]) -> str:
    """Apply a Landlock ruleset; return "on (ABI n)" or why it is off."""
    abi = landlock_abi()
    if abi < 1:
        return "off (Landlock not available in this kernel)"
    fs = _handled_fs(abi)
    attr = struct.pack("=Q", fs)
    if abi >= 4:
        attr += struct.pack("=Q", 0x3)  # TCP bind + connect: none allowed
    if abi >= 6:
        attr += struct.pack("=Q", 0x3)  # abstract unix sockets and signals stay inside
    buf = ctypes.create_string_buffer(attr, len(attr))
    ruleset = _libc.syscall(
        ctypes.c_long(_SYS_CREATE), buf, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0)
    )
    if ruleset < 0:
        return f"off (create_ruleset errno {ctypes.get_errno()})"
    try:
        rules = [(p, _READ) for p in read_paths] + [(p, fs) for p in write_paths]
        rules.append(("/dev/null", _FS_READ_FILE | _FS_WRITE_FILE | (fs & _FS_TRUNCATE)))
        for path, access in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                if not os.path.isdir(path):
                    access &= _FILE_RIGHTS
                access &= fs
                rule = struct.pack("=Qi", access, fd)
                rbuf = ctypes.create_string_buffer(rule, len(rule))
                res = _libc.syscall(
                    ctypes.c_long(_SYS_ADD),
                    ctypes.c_int(ruleset),
                    ctypes.c_int(1),
                    rbuf,
                    ctypes.c_uint32(0),
                )
                if res != 0:
                    return f"off (add_rule {path}: errno {ctypes.get_errno()})"
            finally:
                os.close(fd)
        if _prctl(PR_SET_NO_NEW_PRIVS, 1) != 0:
            return "off (no_new_privs failed)"
        res = _libc.syscall(ctypes.c_long(_SYS_RESTRICT), ctypes.c_int(ruleset), ctypes.c_uint32(0))
        if res != 0:
            return f"off (restrict_self errno {ctypes.get_errno()})"
    finally:
        os.close(ruleset)
    return f"on (ABI {abi})"


# --------------------------------------------------------------------------------------------
# Capabilities
# --------------------------------------------------------------------------------------------

PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
_SYS_CAPSET = {"x86_64": 126, "aarch64": 91}
_CAP_VERSION_3 = 0x20080522


def drop_capabilities() -> str:
    """Empty every capability set of this process; return "on" or why not."""
    nr = _SYS_CAPSET.get(platform.machine())
    if not _LINUX or nr is None:
        return f"off (not supported on {platform.system()} {platform.machine()})"
    for cap in range(64):
        if _prctl(PR_CAPBSET_DROP, cap) != 0:
            if ctypes.get_errno() == 22:  # EINVAL: past the last capability of this kernel
                break
            return f"off (bounding set: errno {ctypes.get_errno()})"
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    header = struct.pack("=Ii", _CAP_VERSION_3, 0)
    data = bytes(24)  # two (effective, permitted, inheritable) triples of zeros
    hbuf = ctypes.create_string_buffer(header, len(header))
    dbuf = ctypes.create_string_buffer(data, len(data))
    if _libc.syscall(ctypes.c_long(nr), hbuf, dbuf) != 0:
        return f"off (capset errno {ctypes.get_errno()})"
    return "on"


def apply(workdir: str, *, memory: int, fsize: int, landlock: bool = True) -> dict:
    """Apply every limit to the current process; return what is in force."""
    report = {"rlimits": set_rlimits(memory, fsize)}
    if landlock:
        report["landlock"] = restrict_files(default_read_paths(), [workdir])
    else:
        report["landlock"] = "off (disabled)"
    report["seccomp"] = install_seccomp()
    report["capabilities_dropped"] = drop_capabilities()
    return report
