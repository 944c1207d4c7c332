"""Expand the Tempita templates of this folder from the kernel table (_table.py).

    python _generate.py OUTDIR     writes rg_kernels.h, rg_capi.pxd and one <module>.pyx
                                   per family of the table into OUTDIR
    python _generate.py --list     prints the names of those files, one a line

Run by CMake at build time (CMakeLists.txt) whenever the table, a template or this
file changes.  See _table.py for the table's format.
"""
import os
import re
import sys

from Cython.Tempita import Template

HERE = os.path.dirname(os.path.abspath(__file__))
DTYPES = (("float", "f32"), ("double", "f64"))
_PARAM = re.compile(r"^(?P<const>const\s+)?(?P<type>\w+)\s*(?P<ptr>\*(?:\s*const\s*\*)?)?\s*"
                    r"(?P<name>\w+)\s*(?:\[(?P<shape>[^\]]*)\])?\s*(?P<optional>\?)?$")
_IDENT = re.compile(r"[A-Za-z_]\w*")
_MEMVIEW_TYPES = {"T": "floating", "int32_t": "int32_t", "uint8_t": "uint8_t",
                  "double": "double"}


def load_table():
    namespace = {}
    path = os.path.join(HERE, "_table.py")
    with open(path) as f:
        exec(compile(f.read(), path, "exec"), namespace)
    return namespace


def split_params(text):
    """The comma-separated parameters of ``text``, commas inside brackets kept."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch == "["
        depth -= ch == "]"
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    parts.append(current.strip())
    return parts


class Param:
    def __init__(self, text):
        m = _PARAM.match(text)
        if m is None:
            raise ValueError(f"kernel table: cannot read the parameter {text!r}")
        self.const = bool(m["const"])
        self.type = m["type"]
        self.ptr = re.sub(r"\s+", "", m["ptr"] or "").replace("const", "const ")
        self.name = m["name"]
        self.shape = None if m["shape"] is None else [d.strip() for d in m["shape"].split(",")]
        self.optional = bool(m["optional"])

    @property
    def is_array(self):
        return self.ptr == "*" and self.shape is not None

    @property
    def is_out_scalar(self):
        return self.ptr == "*" and self.shape is None

    def c_type(self, t):
        """The C type with T replaced by ``t``."""
        base = ("const " if self.const else "") + (t if self.type == "T" else self.type)
        return f"{base} {self.ptr}" if self.ptr else base

    def c_decl(self, t):
        """The C declaration with T replaced by ``t``."""
        ctype = self.c_type(t)
        return f"{ctype}{self.name}" if self.ptr else f"{ctype} {self.name}"


class KernelInfo:
    """One table entry, parsed, with the pieces the templates print."""

    def __init__(self, entry, table):
        self.entry = entry
        self.name = entry.name
        self.module = entry.module
        self.wrapper = entry.wrapper
        self.returns = entry.returns
        self.owner = entry.owner
        self.params = [Param(p) for p in split_params(entry.params)]
        self.arrays = [p for p in self.params if p.is_array]
        # fused (memoryview) dispatch where T arrays are plain pointers; otherwise a flag
        self.fused = any(p.type == "T" for p in self.arrays) and not any(
            p.type == "T" and p.ptr != "*" for p in self.params)
        self.constants = {"MAX_POSITIONS": table["MAX_POSITIONS"]}

    # ---- C and Cython declarations ----------------------------------------------------
    def prototypes(self):
        """(f32, f64) C declarations (without ';')."""
        out = []
        for t, sfx in DTYPES:
            args = ", ".join(p.c_decl(t) for p in self.params)
            out.append(f"{self.returns} rg_{self.name}_{sfx}({args})")
        return out

    def dispatcher(self):
        """A cdef inline rg_<name>(...) calling the f32 or f64 twin (Cython source)."""
        ret = "return " if self.returns != "void" else ""
        if self.fused:
            args = ", ".join(p.c_decl("floating") for p in self.params)
            names = ", ".join(p.name for p in self.params)
            return (f"cdef inline {self.returns} rg_{self.name}({args}) noexcept nogil:\n"
                    f"    if floating is float:\n"
                    f"        {ret}rg_{self.name}_f32({names})\n"
                    f"    else:\n"
                    f"        {ret}rg_{self.name}_f64({names})\n")
        args = ", ".join(["bint is_double"] + [p.c_decl("void") for p in self.params])

        def call(t, sfx):
            names = ", ".join(f"<{p.c_type(t)}>{p.name}" if p.type == "T" else p.name
                              for p in self.params)
            return f"rg_{self.name}_{sfx}({names})"
        return (f"cdef inline {self.returns} rg_{self.name}({args}) noexcept nogil:\n"
                f"    if is_double:\n"
                f"        {ret}{call('double', 'f64')}\n"
                f"    else:\n"
                f"        {ret}{call('float', 'f32')}\n")

    # ---- the checked Python wrapper -------------------------------------------------------
    def arg_names(self):
        """The wrapper's arguments: the table's ``args``, else every array and scalar that
        is not a size, in C order."""
        if self.entry.args is not None:
            return [a.strip() for a in self.entry.args.split(",")]
        sizes = self.sizes()
        return [p.name for p in self.params
                if p.is_array or (not p.ptr and p.name not in sizes)]

    def check_order(self):
        """The arrays in the order their shapes are read and checked: inputs, outputs, then
        the optional ones, each in the wrapper's argument order, so an error names the
        array that disagrees with the first inputs."""
        order = ([a.strip() for a in self.entry.args.split(",")] if self.entry.args
                 else [p.name for p in self.params])
        arrays = sorted(self.arrays, key=lambda p: order.index(p.name))
        return ([p for p in arrays if p.const and not p.optional]
                + [p for p in arrays if not p.const and not p.optional]
                + [p for p in arrays if p.optional])

    def sizes(self):
        """{size name: (array, axis)} of the int64_t parameters read from shapes (the first
        array of check_order naming it, never an optional one)."""
        bound = {}
        for p in self.check_order():
            if p.optional:
                continue
            for axis, dim in enumerate(p.shape):
                if _IDENT.fullmatch(dim) and dim not in bound:
                    bound[dim] = (p, axis)
        return bound

    def wrapper_code(self):
        e, sizes = self.entry, self.sizes()
        scalars = [p for p in self.params if not p.ptr and p.name not in sizes]
        by_name = {p.name: p for p in self.params}
        arg_names = self.arg_names()
        decls = []
        for a in arg_names:
            p = by_name[a]
            if p.is_array:
                view = ", ".join([":"] * (len(p.shape) - 1) + ["::1"])
                const = "const " if p.const else ""
                none = "" if p.optional else " not None"
                decls.append(f"{const}{_MEMVIEW_TYPES[p.type]}[{view}] {p.name}{none}")
            else:
                decls.append(f"{p.type} {p.name}")
        if not self.fused:   # no array tells the dtype
            decls.append("bint double_precision")
        decls.append(f'str owner="{self.owner}"')
        body = []
        body.append(f"cdef bint is_double = "
                    f"{'floating is double' if self.fused else 'double_precision'}")
        if "n_threads" in by_name:
            body.append("if n_threads < 1:")
            body.append('    raise ValueError(f"{owner}: expected n_threads >= 1, '
                        'got {n_threads!r}")')
        for size, (p, axis) in sizes.items():
            body.append(f"cdef int64_t {size} = {p.name}.shape[{axis}]")
        local = set(sizes) | {p.name for p in scalars}
        for p in self.check_order():
            got = ", ".join(f"{p.name}.shape[{k}]" for k in range(len(p.shape)))
            want = ", ".join(p.shape)
            cond = " or ".join(f"{p.name}.shape[{k}] != ({d})" for k, d in enumerate(p.shape)
                               if sizes.get(d) != (p, k))
            if not cond:
                continue
            indent = "    " if p.optional else ""
            if p.optional:
                body.append(f"if {p.name} is not None:")
            body.append(f"{indent}if {cond}:")
            body.append(f'{indent}    _bad_shape(owner, "{p.name}", ({got},), ({want},))')
        for check in e.checks:
            check, message = check if isinstance(check, tuple) else (check, None)
            if message is None:
                names = [n for n in dict.fromkeys(_IDENT.findall(check)) if n in local]
                message = f"{check}, got " + ", ".join(f"{n}={{{n}!r}}" for n in names)
            body.append(f"if not ({check}):")
            body.append(f'    raise ValueError(f"{{owner}}: expected {message}")')
        default = "0" if self.returns != "void" else ""
        outs = [p for p in self.params if p.is_out_scalar]
        if outs:
            default = "0.0"
        if e.skip:
            body.append(f"if {e.skip}:")
            body.append(f"    return {default}".rstrip())
        for p in self.arrays:
            ctype = ("const " if p.const else "") + ("floating" if p.type == "T" else p.type)
            first = ", ".join(["0"] * len(p.shape))
            nonempty = " and ".join(f"{p.name}.shape[{k}] > 0" for k in range(len(p.shape)))
            body.append(f"cdef {ctype} *{p.name}_ptr = NULL")
            cond = (f"{p.name} is not None and " if p.optional else "") + nonempty
            body.append(f"if {cond}:")
            body.append(f"    {p.name}_ptr = &{p.name}[{first}]")
        for p in outs:
            body.append(f"cdef {p.type} {p.name} = 0")
        call_args = []
        if not self.fused:
            call_args.append("is_double")
        for p in self.params:
            if p.is_array:
                call_args.append(f"{p.name}_ptr")
            elif p.is_out_scalar:
                call_args.append(f"&{p.name}")
            else:
                call_args.append(p.name)
        call = f"rg_{self.name}({', '.join(call_args)})"
        if self.returns != "void":
            body.append(f"cdef {self.returns} result")
            call = f"result = {call}"
        body.append("with nogil:")
        body.append(f"    {call}")
        if self.returns != "void":
            body.append("return result")
        elif outs:
            body.append(f"return {outs[0].name}")
        signature = f"def {self.wrapper}({', '.join(decls)}):"
        doc = f'    """Checks every size, then calls rg_{self.name}_<f32|f64> without the GIL."""'
        return "\n".join([signature, doc] + ["    " + line for line in body]) + "\n"


def outputs(table):
    modules = sorted({k.module for k in table["KERNELS"] if k.module})
    return ["rg_kernels.h", "rg_capi.pxd"] + [f"{m}.pyx" for m in modules]


def render(table):
    kernels = [KernelInfo(k, table) for k in table["KERNELS"]]
    common = dict(table=table, kernels=kernels, activations=table["ACTIVATIONS"],
                  optimizers=table["OPTIMIZERS"])
    files = {}
    for name, template in (("rg_kernels.h", "rg_kernels.h.tp"), ("rg_capi.pxd", "rg_capi.pxd.tp")):
        with open(os.path.join(HERE, template)) as f:
            files[name] = Template(f.read(), name=template).substitute(**common)
    with open(os.path.join(HERE, "_wrappers.pyx.tp")) as f:
        wrappers = Template(f.read(), name="_wrappers.pyx.tp")
    for module in sorted({k.module for k in kernels if k.module}):
        mine = [k for k in kernels if k.module == module and k.wrapper]
        files[f"{module}.pyx"] = wrappers.substitute(
            module=module, doc=table["MODULES"][module], kernels=mine,
            constants=mine[0].constants)
    return files


def main(argv):
    table = load_table()
    if argv[1:] == ["--list"]:
        print("\n".join(outputs(table)))
        return
    if len(argv) != 2:
        raise SystemExit(__doc__)
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    for name, text in render(table).items():
        with open(os.path.join(out, name), "w") as f:
            f.write(text)


if __name__ == "__main__":
    main(sys.argv)
