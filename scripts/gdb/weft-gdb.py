# weft-gdb.py - gdb commands for weft programs: list the runtime's fibers and
# show a parked fiber's backtrace, on a live process or a core file.
#
#   info weft-fibers      every fiber: number, name, handle, state (running on
#                         worker N, runnable, parked on what - kind, address,
#                         deadline - exited), entry function, spawn site
#   weft-bt FIBER         backtrace of a fiber that is not running, from the
#                         context it saved when it switched out; FIBER is its
#                         number (as listed), its handle (0x...) or its name
#
# Installed next to the library as libweft.so.<version>-gdb.py, so that gdb
# loads it with the library (given `add-auto-load-safe-path` for that
# directory); or load it by hand: `source scripts/gdb/weft-gdb.py`.
#
# What it reads (keep in step with the runtime; tests/gdb checks it):
#   wt_rt.ft->chunks[0 .. nchunks)   arrays of FT_CHUNK_SIZE struct fiber
#                                    (runtime/fiber_table.h)
#   fiber->sync                      generation << 32 | FIBER_* flags (fiber.h)
#   fiber->waiting                   the struct wait of a parked fiber (wait.h)
#   wt_rt.workers[i].running         the fiber worker i runs (worker.h)
#   fiber->ctx.sp                    the registers wt_context_switch saved, in
#                                    the order arch/<cpu>/switch.S stores them
# x86-64 is tested (tests/gdb); the aarch64 layout follows switch.S but is
# untested under gdb.
import struct

import gdb
import gdb.unwinder

FT_CHUNK_SIZE = 1 << 12  # FT_CHUNK_SHIFT in runtime/fiber_table.h

FIBER_FREE = 1 << 0
FIBER_CLAIMED = 1 << 1
FIBER_DETACHED = 1 << 2
FIBER_EXITED = 1 << 5
FIBER_NAMED = 1 << 7
FIBER_CANCELLED = 1 << 8

# Saved frame of wt_context_switch, offsets from ctx.sp: register -> offset,
# plus where the caller's stack pointer and pc are.
X86_64 = {
    "regs": {"r12": 8, "r13": 16, "r14": 24, "r15": 32, "rbx": 40, "rbp": 48},
    "pc": ("rip", 56),
    "sp": ("rsp", 64),
}
AARCH64 = {
    "regs": dict([("x%d" % (19 + i), 8 * i) for i in range(10)] + [("x29", 80), ("x30", 88)]),
    "pc": ("pc", 88),
    "sp": ("sp", 176),
}


class WeftError(Exception):
    pass


def _runtime():
    try:
        rt = gdb.parse_and_eval("wt_rt")
    except gdb.error:
        raise WeftError("no weft runtime in this program (symbol wt_rt not found; "
                        "is libweft loaded, with debug info?)")
    if int(rt["ft"]) == 0:
        raise WeftError("the weft runtime is not running (wt_rt.ft is NULL)")
    return rt


def _fiber_type():
    # The runtime's own struct fiber (the program may have another one).
    chunk = gdb.parse_and_eval("wt_rt.ft->chunks[0]").type.strip_typedefs()
    return chunk.target().unqualified()


def _offset(t, field):
    return t[field].bitpos // 8


def _workers(rt):
    """Address of the fiber each worker runs, by worker index."""
    running = {}
    workers = rt["workers"]
    for i in range(int(rt["nworkers"])):
        f = int(workers[i]["running"])
        if f:
            running[f] = i
    return running


def _worker_thread(rt, index):
    """The gdb thread that is worker @index, or None."""
    want = int(rt["workers"][index]["thread"])
    for t in gdb.selected_inferior().threads():
        try:
            if int.from_bytes(t.handle(), "little" if _little() else "big") == want:
                return t
        except (gdb.error, TypeError, AttributeError):
            return None
    return None


def _each_fiber(rt):
    """Yield (address, sync) of every fiber that is not free."""
    ft = rt["ft"].dereference()
    ftype = _fiber_type()
    size = ftype.sizeof
    sync_at = _offset(ftype, "sync")
    inferior = gdb.selected_inferior()
    fmt = "<Q" if _little() else ">Q"
    for c in range(int(ft["nchunks"])):
        base = int(ft["chunks"][c])
        if not base:
            continue
        mem = inferior.read_memory(base, size * FT_CHUNK_SIZE).tobytes()
        for j in range(FT_CHUNK_SIZE):
            (sync,) = struct.unpack_from(fmt, mem, j * size + sync_at)
            if not sync & FIBER_FREE:
                yield base + j * size, sync


def _little():
    return "big endian" not in gdb.execute("show endian", to_string=True)


def _fiber(addr):
    return gdb.Value(addr).cast(_fiber_type().pointer()).dereference()


def _name(f, sync):
    if sync & FIBER_NAMED:
        return f["name"].string(errors="replace")
    return "unnamed"


def _number(f):
    return int(f["index"]) + 1


def _handle(f, sync):
    return ((sync >> 32) << 32) | _number(f)


def _symbol(pc, is_return=False):
    """'func (file:line)' for a code address, or its hex."""
    if not pc:
        return "?"
    block_pc = pc - 1 if is_return else pc
    where = ""
    try:
        sal = gdb.find_pc_line(block_pc)
        if sal.symtab:
            where = " (%s:%d)" % (sal.symtab.filename.split("/")[-1], sal.line)
    except gdb.error:
        pass
    try:
        block = gdb.block_for_pc(block_pc)
        while block and not block.function:
            block = block.superblock
        if block and block.function:
            return block.function.print_name + where
    except (gdb.error, RuntimeError):
        pass
    out = gdb.execute("info symbol 0x%x" % pc, to_string=True).strip()
    if out.startswith("No symbol"):
        return "0x%x" % pc
    return out.split(" in section")[0] + where


def _enum_name(value):
    s = str(value)
    return s[len("WAITK_"):].lower().replace("_", " ") if s.startswith("WAITK_") else s


def _state(f, sync, running):
    """(summary, parked) of a fiber that is not free."""
    addr = int(f.address)
    if sync & FIBER_EXITED:
        if sync & FIBER_DETACHED:
            return "exited", False
        return "exited, not yet joined", False
    if addr in running:
        t = _worker_thread(_runtime(), running[addr])
        return "running on worker %d%s" % (running[addr], ", thread %d" % t.num if t else ""), False
    wt = int(f["waiting"])
    if wt:
        w = f["waiting"].dereference()
        s = "parked: %s 0x%x" % (_enum_name(w["kind"]), int(w["obj"]))
        deadline = int(w["deadline"])
        if deadline > 0:  # a join's description leaves it 0; 0 never parks
            s += ", deadline %d ns" % deadline
        if int(w["w"]):
            s += ", on worker %d" % int(w["w"].dereference()["index"])
        return s, True
    if not int(f["stack"]):
        return "runnable, not started", False
    return "runnable", False


def _find(rt, arg):
    """The fiber named by a number, a handle or a name."""
    arg = arg.strip()
    if not arg:
        raise WeftError("usage: weft-bt FIBER (its number, handle or name)")
    want_num = want_handle = None
    if arg.lower().startswith("0x"):
        want_handle = int(arg, 16)
    elif arg.isdigit():
        want_num = int(arg)
    found = []
    for addr, sync in _each_fiber(rt):
        f = _fiber(addr)
        if want_handle is not None:
            hit = _handle(f, sync) == want_handle
        elif want_num is not None:
            hit = _number(f) == want_num
        else:
            hit = bool(sync & FIBER_NAMED) and _name(f, sync) == arg
        if hit:
            found.append((f, sync))
    if not found:
        raise WeftError("no fiber %s" % arg)
    if len(found) > 1:
        raise WeftError("%d fibers are named %s: use a number (info weft-fibers)"
                        % (len(found), arg))
    return found[0]


class InfoWeftFibers(gdb.Command):
    """List every fiber of the weft runtime: number, name, handle, state
(running on which worker, runnable, parked on what and since where, exited),
entry function and spawn site.

Usage: info weft-fibers"""

    def __init__(self):
        super().__init__("info weft-fibers", gdb.COMMAND_STATUS)

    def invoke(self, arg, from_tty):
        try:
            rt = _runtime()
            running = _workers(rt)
            print("weft: %d workers" % int(rt["nworkers"]))
            n = 0
            for addr, sync in _each_fiber(rt):
                f = _fiber(addr)
                state, parked = _state(f, sync, running)
                line = "fiber %d \"%s\" (handle 0x%016x) [%s]" % (
                    _number(f), _name(f, sync), _handle(f, sync), state)
                if not sync & FIBER_EXITED:
                    line += " entry %s" % _symbol(int(f["fn"]))
                if parked:  # the spawn site shares a word with the result
                    line += " spawned at %s" % _symbol(int(f["spawn_site"]), True)
                if sync & FIBER_CANCELLED:
                    line += " (cancelled)"
                print(line)
                n += 1
            print("%d fibers" % n)
        except WeftError as e:
            raise gdb.GdbError(str(e))


class _FiberUnwinder(gdb.unwinder.Unwinder):
    """While `regs` is set, claims the innermost frame and gives as its caller
    the registers a fiber saved: frames 1.. are then the fiber's stack."""

    def __init__(self):
        super().__init__("weft-fiber")
        self.regs = None
        self.frame_sp = 0

    def __call__(self, pending_frame):
        if self.regs is None or pending_frame.level() != 0:
            return None
        sp_name, pc_name = self.layout["sp"][0], self.layout["pc"][0]

        class FrameId:
            def __init__(self, sp, pc):
                self.sp = sp
                self.pc = pc

        # The frame's id takes the fiber's saved sp: gdb stops at a caller
        # whose stack is "inner" (lower) than its callee's, and the fiber's
        # stack may lie below the thread's.
        info = pending_frame.create_unwind_info(
            FrameId(gdb.Value(self.frame_sp).cast(pending_frame.read_register(sp_name).type),
                    pending_frame.read_register(pc_name)))
        for name, value in self.regs.items():
            t = pending_frame.read_register(name).type
            info.add_saved_register(name, gdb.Value(value).cast(t))
        return info


_unwinder = _FiberUnwinder()
gdb.unwinder.register_unwinder(None, _unwinder, replace=True)


def _layout():
    arch = gdb.selected_inferior().architecture().name()
    if "x86-64" in arch:
        return X86_64
    if "aarch64" in arch:
        return AARCH64
    raise WeftError("weft-bt knows x86-64 and aarch64 only, not %s" % arch)


def _saved_registers(sp, layout):
    inferior = gdb.selected_inferior()
    ptr = gdb.lookup_type("unsigned long").sizeof
    fmt = ("<" if _little() else ">") + ("Q" if ptr == 8 else "I")

    def word(off):
        return struct.unpack(fmt, inferior.read_memory(sp + off, ptr).tobytes())[0]

    regs = {name: word(off) for name, off in layout["regs"].items()}
    pc_name, pc_off = layout["pc"]
    sp_name, sp_off = layout["sp"]
    regs[pc_name] = word(pc_off)
    regs[sp_name] = sp + sp_off
    return regs


def _print_frames():
    frame = gdb.newest_frame().older()  # frame 0 is the thread's own
    level = 0
    while frame is not None and level < 200:
        pc = frame.pc()
        fn = frame.function()
        name = fn.print_name if fn else (frame.name() or "??")
        sal = frame.find_sal()
        where = ""
        if sal.symtab:
            where = " at %s:%d" % (sal.symtab.filename, sal.line)
        inline = frame.type() == gdb.INLINE_FRAME
        print("#%-2d %s%s%s" % (level, "" if inline else "0x%016x in " % pc, name, where))
        level += 1
        try:
            frame = frame.older()
        except gdb.error as e:
            print("Backtrace stopped: %s" % e)
            break


class WeftBt(gdb.Command):
    """Backtrace of a weft fiber that is not running (parked or runnable),
from the registers it saved when it last switched out.

Usage: weft-bt FIBER
FIBER is the fiber's number as `info weft-fibers` lists it, its handle
(0x...) or its name. For a running fiber, this is its worker thread's bt."""

    def __init__(self):
        super().__init__("weft-bt", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        try:
            rt = _runtime()
            f, sync = _find(rt, arg)
            state, _ = _state(f, sync, _workers(rt))
            title = "fiber %d \"%s\" [%s]" % (_number(f), _name(f, sync), state)
            if state.startswith("running"):
                t = _worker_thread(rt, _workers(rt)[int(f.address)])
                if not t:
                    raise WeftError("%s: its stack is its worker's thread's; use `thread` and `bt`"
                                    % title)
                print(title + ": its worker's thread's stack")
                current = gdb.selected_thread()
                t.switch()
                try:
                    gdb.execute("bt")
                finally:
                    current.switch()
                return
            if sync & FIBER_EXITED or not int(f["stack"]):
                raise WeftError("%s: it has no stack" % title)
            layout = _layout()
            regs = _saved_registers(int(f["ctx"]["sp"]), layout)
        except WeftError as e:
            raise gdb.GdbError(str(e))
        print(title)
        _unwinder.layout = layout
        _unwinder.regs = regs
        _unwinder.frame_sp = int(f["ctx"]["sp"])
        gdb.invalidate_cached_frames()
        try:
            _print_frames()
        finally:
            _unwinder.regs = None
            gdb.invalidate_cached_frames()


InfoWeftFibers()
WeftBt()
