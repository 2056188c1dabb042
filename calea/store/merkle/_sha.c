/* calea.store.merkle._sha: SHA-256 of whole batches in one call (OpenSSL libcrypto).
 *
 * prefixed_hashes(prefix, items) -- [sha256(prefix + item).digest() for item in items]
 * pair_hashes(prefix, hashes)     -- [sha256(prefix + hashes[2i] + hashes[2i+1]).digest()]
 *                                    for an even number of 32-byte hashes
 *
 * For small inputs (a ~250-byte CC record, a 65-byte RFC 9162 interior node) the cost of a
 * `hashlib.sha256(...).digest()` call from Python is as large as the hashing itself; here the
 * per-item cost is one SHA256_CTX copy, the compression (OpenSSL's fastest code path for the
 * CPU: SHA-NI, AVX2, ...) and the 32-byte result object.  The prefix is absorbed once per call.
 *
 * The Python versions in calea/store/merkle/hashing.py stay the reference and the fallback
 * (module not built, or CALEA_PURE_PYTHON=1); tests/unit/merkle/test_sha_batch.py compares
 * the two.  Items must be bytes (or a bytes subclass): anything else raises TypeError.
 *
 * The GIL is held throughout: the work per call is a few ms at most for the writer's batches,
 * and releasing it would have to snapshot the items.
 *
 * The SHA256_* functions are deprecated in OpenSSL 3 (in favour of EVP) but are the direct
 * path to the same assembly; EVP adds a provider dispatch per digest.
 */
#define PY_SSIZE_T_CLEAN
#define OPENSSL_SUPPRESS_DEPRECATED
#include <Python.h>
#include <openssl/sha.h>
#include <string.h>

#define HASH_SIZE 32

/* A new list of n fresh, uninitialised 32-byte bytes objects (filled by the caller before it
 * is returned), or NULL with an exception set. */
static PyObject *new_digests(Py_ssize_t n) {
    PyObject *out = PyList_New(n);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *b = PyBytes_FromStringAndSize(NULL, HASH_SIZE);
        if (b == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, b);
    }
    return out;
}

/* The two arguments: prefix (bytes) and a sequence, as a fast sequence (a new reference). */
static PyObject *parse_args(PyObject *const *args, Py_ssize_t nargs, const char *name, const char *what,
                            PyObject **prefix) {
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "%s() takes exactly 2 arguments (%zd given)", name, nargs);
        return NULL;
    }
    if (!PyBytes_Check(args[0])) {
        PyErr_Format(PyExc_TypeError, "%s(): prefix must be bytes, not %.100s", name, Py_TYPE(args[0])->tp_name);
        return NULL;
    }
    *prefix = args[0];
    return PySequence_Fast(args[1], what);
}

/* Allocating the results may run a garbage collection, hence arbitrary finalizers, which could
 * change a list given as input: check its size again afterwards (the items are read only after
 * the last allocation, with the GIL held, so nothing else can change them). */
static int check_unchanged(PyObject *seq, Py_ssize_t n, const char *name) {
    if (PySequence_Fast_GET_SIZE(seq) != n) {
        PyErr_Format(PyExc_RuntimeError, "%s(): the input changed size during the call", name);
        return -1;
    }
    return 0;
}

static PyObject *prefixed_hashes(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    PyObject *prefix, *seq, *out, **items;
    Py_ssize_t n;
    SHA256_CTX base, ctx;
    (void)self;

    seq = parse_args(args, nargs, "prefixed_hashes", "prefixed_hashes(): items must be a sequence of bytes", &prefix);
    if (seq == NULL)
        return NULL;
    n = PySequence_Fast_GET_SIZE(seq);
    out = new_digests(n);
    if (out == NULL || check_unchanged(seq, n, "prefixed_hashes") < 0)
        goto fail;
    items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!PyBytes_Check(items[i])) {
            PyErr_Format(PyExc_TypeError, "prefixed_hashes(): items[%zd] must be bytes, not %.100s", i,
                         Py_TYPE(items[i])->tp_name);
            goto fail;
        }
    }
    SHA256_Init(&base);
    SHA256_Update(&base, PyBytes_AS_STRING(prefix), (size_t)PyBytes_GET_SIZE(prefix));
    for (Py_ssize_t i = 0; i < n; i++) {
        ctx = base;
        SHA256_Update(&ctx, PyBytes_AS_STRING(items[i]), (size_t)PyBytes_GET_SIZE(items[i]));
        SHA256_Final((unsigned char *)PyBytes_AS_STRING(PyList_GET_ITEM(out, i)), &ctx);
    }
    Py_DECREF(seq);
    return out;
fail:
    Py_XDECREF(out);
    Py_DECREF(seq);
    return NULL;
}

static PyObject *pair_hashes(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    PyObject *prefix, *seq, *out = NULL, **items;
    Py_ssize_t n;
    SHA256_CTX base, ctx;
    (void)self;

    seq = parse_args(args, nargs, "pair_hashes", "pair_hashes(): hashes must be a sequence of bytes", &prefix);
    if (seq == NULL)
        return NULL;
    n = PySequence_Fast_GET_SIZE(seq);
    if (n & 1) {
        PyErr_Format(PyExc_ValueError, "pair_hashes(): an odd number of hashes (%zd)", n);
        goto fail;
    }
    out = new_digests(n / 2);
    if (out == NULL || check_unchanged(seq, n, "pair_hashes") < 0)
        goto fail;
    items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!PyBytes_Check(items[i])) {
            PyErr_Format(PyExc_TypeError, "pair_hashes(): hashes[%zd] must be bytes, not %.100s", i,
                         Py_TYPE(items[i])->tp_name);
            goto fail;
        }
        if (PyBytes_GET_SIZE(items[i]) != HASH_SIZE) {
            PyErr_Format(PyExc_ValueError, "pair_hashes(): hashes[%zd] is %zd bytes, not %d", i,
                         PyBytes_GET_SIZE(items[i]), HASH_SIZE);
            goto fail;
        }
    }
    SHA256_Init(&base);
    SHA256_Update(&base, PyBytes_AS_STRING(prefix), (size_t)PyBytes_GET_SIZE(prefix));
    for (Py_ssize_t i = 0; i < n / 2; i++) {
        ctx = base;
        SHA256_Update(&ctx, PyBytes_AS_STRING(items[2 * i]), HASH_SIZE);
        SHA256_Update(&ctx, PyBytes_AS_STRING(items[2 * i + 1]), HASH_SIZE);
        SHA256_Final((unsigned char *)PyBytes_AS_STRING(PyList_GET_ITEM(out, i)), &ctx);
    }
    Py_DECREF(seq);
    return out;
fail:
    Py_XDECREF(out);
    Py_DECREF(seq);
    return NULL;
}

static PyMethodDef methods[] = {
    {"prefixed_hashes", (PyCFunction)(void (*)(void))prefixed_hashes, METH_FASTCALL,
     "prefixed_hashes(prefix, items) -> [sha256(prefix + item).digest() for item in items]"},
    {"pair_hashes", (PyCFunction)(void (*)(void))pair_hashes, METH_FASTCALL,
     "pair_hashes(prefix, hashes) -> [sha256(prefix + hashes[2i] + hashes[2i+1]).digest()] "
     "(an even number of 32-byte hashes)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "calea.store.merkle._sha",
    "SHA-256 of whole batches in one call (OpenSSL); see calea/store/merkle/hashing.py", -1, methods,
    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__sha(void) { return PyModule_Create(&module); }
