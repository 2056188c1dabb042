/* calea.handover._speedups: the C version of three hot, pure functions of the intake.
 *
 * fast_scan(record)  -- exactly calea.handover.etsi102232_fast.fast_scan (the optimistic
 *                       TS 102 232-1 PSHeader reader): same answers, or None where the
 *                       Python version answers None or would raise IndexError.  It may
 *                       also answer None where the Python version reads a 9-octet
 *                       sequence number; the caller's generic path then decides.
 * split(buf, ...)    -- many RecordSplitter.next_record calls at once, for the usual outer
 *                       headers (see below).
 * utc_from_us(us)    -- an aware UTC datetime of microseconds since the Unix epoch (the
 *                       carrier's stamp, rule A8), for years 1..9999.
 *
 * Both are pure functions of their input (the PSHeader static-prefix cache is a dict owned
 * by the Python module and passed in by `configure`).  The Python versions stay the
 * reference: tests/unit/handover/test_speedups.py compares the two on the OpenLI vectors and
 * on generated and mutated records.  Set CALEA_PURE_PYTHON=1 to run without this module.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <stdint.h>

static PyObject *g_prefixes;     /* dict: prefix bytes -> 6-tuple, or () for "generic path" */
static PyObject *g_parse_prefix; /* callable(bytes) -> 6-tuple or None */
static PyObject *g_header_type;  /* PSHeader (a tuple subclass) */
static PyObject *g_kind_cc, *g_kind_iri, *g_kind_other, *g_kind_keepalive, *g_kind_keepalive_response,
    *g_kind_integrity;
static PyObject *g_timestamp_field; /* "microSecondTimeStamp" */
static PyObject *g_empty;           /* () */
static Py_ssize_t g_cache_size = 1024;
static PyObject *g_utc;

#define MAX_SECONDS 253402300800LL /* 10000-01-01T00:00:00Z */

static void clear_config(void) {
    Py_CLEAR(g_prefixes);
    Py_CLEAR(g_parse_prefix);
    Py_CLEAR(g_header_type);
    Py_CLEAR(g_kind_cc);
    Py_CLEAR(g_kind_iri);
    Py_CLEAR(g_kind_other);
    Py_CLEAR(g_kind_keepalive);
    Py_CLEAR(g_kind_keepalive_response);
    Py_CLEAR(g_kind_integrity);
    Py_CLEAR(g_timestamp_field);
}

static PyObject *configure(PyObject *self, PyObject *args) {
    PyObject *prefixes, *parse, *htype, *cc, *iri, *other, *ka, *kar, *ic, *field;
    Py_ssize_t size;
    if (!PyArg_ParseTuple(args, "O!OOOOOOOOUn:configure", &PyDict_Type, &prefixes, &parse, &htype, &cc, &iri,
                          &other, &ka, &kar, &ic, &field, &size))
        return NULL;
    if (!PyType_Check(htype) || !PyType_IsSubtype((PyTypeObject *)htype, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "the header type must be a tuple subclass");
        return NULL;
    }
    clear_config();
    g_prefixes = Py_NewRef(prefixes);
    g_parse_prefix = Py_NewRef(parse);
    g_header_type = Py_NewRef(htype);
    g_kind_cc = Py_NewRef(cc);
    g_kind_iri = Py_NewRef(iri);
    g_kind_other = Py_NewRef(other);
    g_kind_keepalive = Py_NewRef(ka);
    g_kind_keepalive_response = Py_NewRef(kar);
    g_kind_integrity = Py_NewRef(ic);
    g_timestamp_field = Py_NewRef(field);
    g_cache_size = size;
    Py_RETURN_NONE;
}

/* The static prefix (li-psDomainId .. communicationIdentifier): cached by its bytes. */
static PyObject *lookup_prefix(const unsigned char *r, Py_ssize_t start, Py_ssize_t end) {
    PyObject *key = PyBytes_FromStringAndSize((const char *)r + start, end - start);
    if (key == NULL)
        return NULL;
    PyObject *found = PyDict_GetItemWithError(g_prefixes, key); /* borrowed */
    if (found != NULL) {
        Py_DECREF(key);
        return Py_NewRef(found);
    }
    if (PyErr_Occurred()) {
        Py_DECREF(key);
        return NULL;
    }
    PyObject *parsed = PyObject_CallOneArg(g_parse_prefix, key);
    if (parsed == NULL) {
        Py_DECREF(key);
        return NULL;
    }
    if (parsed == Py_None) {
        Py_DECREF(parsed);
        parsed = Py_NewRef(g_empty);
    }
    if (PyDict_GET_SIZE(g_prefixes) >= g_cache_size)
        PyDict_Clear(g_prefixes);
    if (PyDict_SetItem(g_prefixes, key, parsed) < 0) {
        Py_DECREF(key);
        Py_DECREF(parsed);
        return NULL;
    }
    Py_DECREF(key);
    return parsed;
}

/* Short or one/two-octet long form length at r[*p + 1]; advances *p past the header.
 * Returns -1 for anything else (or when it runs past n). */
static Py_ssize_t read_len(const unsigned char *r, Py_ssize_t n, Py_ssize_t *p) {
    Py_ssize_t i = *p;
    if (i + 1 >= n)
        return -1;
    unsigned int length = r[i + 1];
    if (length < 0x80) {
        *p = i + 2;
        return length;
    }
    if (length == 0x81) {
        if (i + 2 >= n)
            return -1;
        *p = i + 3;
        return r[i + 2];
    }
    if (length == 0x82) {
        if (i + 3 >= n)
            return -1;
        *p = i + 4;
        return ((Py_ssize_t)r[i + 2] << 8) | r[i + 3];
    }
    return -1;
}

#define NEED(i)                                                                                                        \
    do {                                                                                                               \
        if ((i) >= n)                                                                                                  \
            goto none;                                                                                                 \
    } while (0)

static PyObject *fast_scan(PyObject *self, PyObject *rec) {
    if (g_prefixes == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "calea.handover._speedups.configure() was not called");
        return NULL;
    }
    if (!PyBytes_CheckExact(rec))
        Py_RETURN_NONE;
    const unsigned char *r = (const unsigned char *)PyBytes_AS_STRING(rec);
    const Py_ssize_t n = PyBytes_GET_SIZE(rec);
    PyObject *statics = NULL, *ipid = Py_None;
    Py_ssize_t p = 0, q, length, hend, tend, pstart;
    unsigned int bad;
    long long seq, secs, micros;
    long qualifier = -1;
    int i;

    if (n < 2)
        goto none;
    length = read_len(r, n, &p);
    if (length < 0 || p + length != n || r[0] != 0x30)
        goto none;
    NEED(p + 1);
    if (r[p] != 0xA1)
        goto none;
    bad = r[p + 1];
    p += 2;
    hend = p + bad;
    /* static prefix: hop to sequenceNumber [4] */
    q = p;
    NEED(q);
    while (r[q] != 0x84) {
        NEED(q + 1);
        q += 2 + r[q + 1];
        if (q >= hend)
            goto none;
        NEED(q);
    }
    statics = lookup_prefix(r, p, q);
    if (statics == NULL)
        return NULL;
    if (!PyTuple_Check(statics) || PyTuple_GET_SIZE(statics) != 6)
        goto none;
    /* sequenceNumber [4] */
    NEED(q + 1);
    bad |= r[q + 1];
    p = q + 2 + r[q + 1];
    if (p - q == 3) {
        NEED(q + 2);
        if (r[q + 2] >= 0x80)
            goto none;
        seq = r[q + 2];
    } else if (3 < p - q && p - q <= 10) {
        NEED(p); /* the next element is read at p */
        seq = (r[q + 2] & 0x80) ? -1 : 0;
        for (i = q + 2; i < p; i++)
            seq = (long long)(((unsigned long long)seq << 8) | r[i]);
    } else {
        goto none; /* a 9-octet value: the generic path */
    }
    NEED(p);
    if (r[p] == 0x86) { /* interceptionPointID */
        NEED(p + 1);
        bad |= r[p + 1];
        q = p + 2;
        p = q + r[p + 1];
        NEED(p);
        ipid = PyUnicode_DecodeUTF8((const char *)r + q, p - q, NULL);
        if (ipid == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
                Py_DECREF(statics);
                return NULL;
            }
            PyErr_Clear();
            ipid = Py_None;
            goto none;
        }
    }
    /* microSecondTimeStamp [7] { seconds [0], microSeconds [1] } */
    NEED(p + 3);
    if (r[p] != 0xA7 || r[p + 2] != 0x80)
        goto none;
    bad |= r[p + 1] | r[p + 3];
    tend = p + 2 + r[p + 1];
    q = p + 4;
    p = q + r[p + 3];
    if (p - q < 1 || p - q > 5)
        goto none;
    NEED(p);
    if (r[q] >= 0x80)
        goto none;
    secs = 0;
    for (i = q; i < p; i++)
        secs = (secs << 8) | r[i];
    if (r[p] != 0x81)
        goto none;
    NEED(p + 1);
    bad |= r[p + 1];
    q = p + 2;
    p = q + r[p + 1];
    if (p - q < 1 || p - q > 3)
        goto none;
    NEED(p);
    micros = 0;
    for (i = q; i < p; i++)
        micros = (micros << 8) | r[i];
    if (p != tend || secs >= MAX_SECONDS || micros >= 1000000 || (r[q] & 0x80))
        goto none;
    if (r[p] == 0x88) { /* timeStampQualifier */
        NEED(p + 2);
        bad |= r[p + 1];
        if (r[p + 1] != 1 || (r[p + 2] & 0x80))
            goto none;
        qualifier = r[p + 2];
        p += 3;
    }
    if (p != hend || (bad & 0x80))
        goto none;
    /* payload [2] (the rest of the PS-PDU) and the tag of its choice */
    NEED(p);
    if (r[p] != 0xA2)
        goto none;
    length = read_len(r, n, &p);
    if (length < 0)
        goto none;
    pstart = p;
    if (p + length != n)
        goto none;
    NEED(p);
    unsigned int tag = r[p];
    q = p;
    length = read_len(r, n, &q);
    if (length < 0 || q + length != n)
        goto none;
    PyObject *kind;
    if (tag == 0xA1) {
        kind = g_kind_cc;
    } else if (tag == 0xA0) {
        kind = g_kind_iri;
    } else if (tag == 0xA2 && length >= 2) {
        unsigned int tri = r[q], size = r[q + 1];
        if ((tri & 0x1F) == 0x1F || size >= 0x80 || q + 2 + (Py_ssize_t)size > n)
            goto none;
        kind = tri == 0x83 ? g_kind_keepalive
               : tri == 0x84 ? g_kind_keepalive_response
               : tri == 0xA0 ? g_kind_integrity
                             : g_kind_other;
    } else {
        goto none;
    }

    PyObject *fields = PyTuple_New(12);
    if (fields == NULL)
        goto fail;
    PyObject *seq_o = PyLong_FromLongLong(seq);
    PyObject *ts_o = PyLong_FromLongLong(secs * 1000000LL + micros);
    PyObject *q_o = qualifier < 0 ? Py_NewRef(Py_None) : PyLong_FromLong(qualifier);
    if (seq_o == NULL || ts_o == NULL || q_o == NULL) {
        Py_XDECREF(seq_o);
        Py_XDECREF(ts_o);
        Py_XDECREF(q_o);
        Py_DECREF(fields);
        goto fail;
    }
    /* (liid, sequence, kind, cin, operator_id, network_element_id, authorization_country_code,
        delivery_country_code, interception_point_id, timestamp_us, timestamp_field, qualifier) */
    PyTuple_SET_ITEM(fields, 0, Py_NewRef(PyTuple_GET_ITEM(statics, 0)));
    PyTuple_SET_ITEM(fields, 1, seq_o);
    PyTuple_SET_ITEM(fields, 2, Py_NewRef(kind));
    PyTuple_SET_ITEM(fields, 3, Py_NewRef(PyTuple_GET_ITEM(statics, 1)));
    PyTuple_SET_ITEM(fields, 4, Py_NewRef(PyTuple_GET_ITEM(statics, 2)));
    PyTuple_SET_ITEM(fields, 5, Py_NewRef(PyTuple_GET_ITEM(statics, 3)));
    PyTuple_SET_ITEM(fields, 6, Py_NewRef(PyTuple_GET_ITEM(statics, 4)));
    PyTuple_SET_ITEM(fields, 7, Py_NewRef(PyTuple_GET_ITEM(statics, 5)));
    PyTuple_SET_ITEM(fields, 8, ipid == Py_None ? Py_NewRef(Py_None) : ipid);
    ipid = Py_None;
    PyTuple_SET_ITEM(fields, 9, ts_o);
    PyTuple_SET_ITEM(fields, 10, Py_NewRef(g_timestamp_field));
    PyTuple_SET_ITEM(fields, 11, q_o);
    Py_DECREF(statics);
    /* tuple.__new__(PSHeader, fields) */
    PyObject *targs = PyTuple_Pack(1, fields);
    Py_DECREF(fields);
    if (targs == NULL)
        return NULL;
    PyObject *header = PyTuple_Type.tp_new((PyTypeObject *)g_header_type, targs, NULL);
    Py_DECREF(targs);
    if (header == NULL)
        return NULL;
    return Py_BuildValue("(Nnn)", header, pstart, n);

none:
    Py_XDECREF(statics);
    if (ipid != Py_None)
        Py_DECREF(ipid);
    Py_RETURN_NONE;
fail:
    Py_XDECREF(statics);
    if (ipid != Py_None)
        Py_DECREF(ipid);
    return NULL;
}

/* split(buffer, pos, max_record_size, outer_tags) -> (records, pos)
 *
 * The usual case of RecordSplitter.next_record, many at once: from `pos` in the bytearray,
 * every whole record whose outer header is a one-octet tag with a short or one/two-octet
 * long length, as bytes.  It stops, leaving the rest to next_record (which also raises the
 * precise errors), at anything else: a record not yet whole, a multi-octet tag or longer
 * length form, a tag not in `outer_tags` (bytes of allowed tags, or None: any constructed
 * tag), or a record over `max_record_size`. */
static PyObject *split(PyObject *self, PyObject *args) {
    PyObject *buffer, *tags;
    Py_ssize_t pos, max_size;
    if (!PyArg_ParseTuple(args, "O!nnO:split", &PyByteArray_Type, &buffer, &pos, &max_size, &tags))
        return NULL;
    if (tags != Py_None && !PyBytes_Check(tags)) {
        PyErr_SetString(PyExc_TypeError, "outer_tags must be bytes or None");
        return NULL;
    }
    const unsigned char *b = (const unsigned char *)PyByteArray_AS_STRING(buffer);
    const Py_ssize_t n = PyByteArray_GET_SIZE(buffer);
    const char *allowed = tags == Py_None ? NULL : PyBytes_AS_STRING(tags);
    const Py_ssize_t nallowed = tags == Py_None ? 0 : PyBytes_GET_SIZE(tags);
    if (pos < 0 || pos > n) {
        PyErr_SetString(PyExc_ValueError, "position outside the buffer");
        return NULL;
    }
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    while (n - pos >= 2) {
        unsigned int first = b[pos];
        if ((first & 0x1F) == 0x1F)
            break;
        if (allowed != NULL) {
            if (memchr(allowed, (int)first, (size_t)nallowed) == NULL)
                break;
        } else if (!(first & 0x20)) {
            break;
        }
        Py_ssize_t q = pos, length = read_len(b, n, &q);
        if (length < 0)
            break;
        Py_ssize_t total = (q - pos) + length;
        if (total > max_size || n - pos < total)
            break;
        PyObject *rec = PyBytes_FromStringAndSize((const char *)b + pos, total);
        if (rec == NULL || PyList_Append(out, rec) < 0) {
            Py_XDECREF(rec);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(rec);
        pos += total;
    }
    return Py_BuildValue("(Nn)", out, pos);
}

/* Days since 1970-01-01 -> civil date (proleptic Gregorian). */
static void civil_from_days(long long z, int *y, int *m, int *d) {
    z += 719468;
    const long long era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const long long yy = (long long)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

#define MIN_US (-62135596800LL * 1000000LL) /* 0001-01-01T00:00:00Z */
#define MAX_US (253402300800LL * 1000000LL) /* 10000-01-01T00:00:00Z */

static PyObject *utc_from_us(PyObject *self, PyObject *arg) {
    int overflow = 0;
    long long us = PyLong_AsLongLongAndOverflow(arg, &overflow);
    if (us == -1 && PyErr_Occurred())
        return NULL;
    if (overflow || us < MIN_US || us >= MAX_US) {
        PyErr_SetString(PyExc_OverflowError, "date value out of range");
        return NULL;
    }
    long long secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    int micro = (int)(us - secs * 1000000);
    long long days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int sod = (int)(secs - days * 86400);
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    return PyDateTimeAPI->DateTime_FromDateAndTime(y, m, d, sod / 3600, (sod / 60) % 60, sod % 60, micro, g_utc,
                                                   PyDateTimeAPI->DateTimeType);
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS,
     "configure(prefixes, parse_prefix, PSHeader, CC, IRI, OTHER, KEEPALIVE, KEEPALIVE_RESPONSE, INTEGRITY_CHECK, "
     "timestamp_field, cache_size)"},
    {"fast_scan", fast_scan, METH_O, "fast_scan(record) -> (PSHeader, payload start, payload end) or None"},
    {"split", split, METH_VARARGS, "split(buffer, pos, max_record_size, outer_tags) -> (records, pos)"},
    {"utc_from_us", utc_from_us, METH_O, "utc_from_us(microseconds) -> aware UTC datetime"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "calea.handover._speedups", NULL, -1, methods};

PyMODINIT_FUNC PyInit__speedups(void) {
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL)
        return NULL;
    g_utc = PyDateTime_TimeZone_UTC;
    Py_INCREF(g_utc);
    g_empty = PyTuple_New(0);
    if (g_empty == NULL)
        return NULL;
    return PyModule_Create(&module);
}
