/* calea.handover._speedups: the C version of hot, pure functions of the intake.
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
 * parse_sip(data),   -- exactly calea.handover.etsi102232_sip's Python parse_sip / parse_sdp
 * parse_sdp(body)       for the usual SIP message / SDP body, None for anything else (the
 *                       Python reference then decides); see the SIP section below.
 * sip_iri(rec, q, e,  -- exactly calea.handover.etsi102232_payloads' Python sip_iri (the
 *         parse_sip)    usual TS 102 232-5 iPMMIRI sIPMessage) as (fields, SIP content
 *                       parts), None for anything else; see the SIP IRI section below.
 * header_fields(rec,  -- exactly calea.handover.etsi102232_decode._header_fields_py
 *               header) (the PSHeader facts of a decoded record), None for anything else;
 *                       see the PSHeader facts section below.
 *
 * All are pure functions of their input (the PSHeader static-prefix cache is a dict owned
 * by the Python module and passed in by `configure`; the SIP tables by `configure_sip`; the
 * IRI enumeration tables by `configure_iri`; the header keys and qualifier names by
 * `configure_header`).
 * The Python versions stay the reference: tests/unit/handover/test_speedups.py,
 * test_sip_speedups.py, test_sip_iri_speedups.py and test_header_fields_speedups.py compare
 * the two on the OpenLI vectors and on generated and mutated input.  Set CALEA_PURE_PYTHON=1
 * to run without this module.
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

/* The UTC date, second of the day and microsecond of MIN_US <= us < MAX_US. */
static void utc_parts(long long us, int *y, int *m, int *d, int *sod, int *micro) {
    long long secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    *micro = (int)(us - secs * 1000000);
    long long days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    *sod = (int)(secs - days * 86400);
    civil_from_days(days, y, m, d);
}

static PyObject *utc_from_us(PyObject *self, PyObject *arg) {
    int overflow = 0;
    long long us = PyLong_AsLongLongAndOverflow(arg, &overflow);
    if (us == -1 && PyErr_Occurred())
        return NULL;
    if (overflow || us < MIN_US || us >= MAX_US) {
        PyErr_SetString(PyExc_OverflowError, "date value out of range");
        return NULL;
    }
    int y, m, d, sod, micro;
    utc_parts(us, &y, &m, &d, &sod, &micro);
    return PyDateTimeAPI->DateTime_FromDateAndTime(y, m, d, sod / 3600, (sod / 60) % 60, sod % 60, micro, g_utc,
                                                   PyDateTimeAPI->DateTimeType);
}

/* ---- SIP (RFC 3261) and SDP (RFC 4566) of a TS 102 232-5 sIPMessage ----------------------
 *
 * parse_sip(data) and parse_sdp(body): exactly calea.handover.etsi102232_sip._parse_sip_py /
 * _parse_sdp_py (same dicts, same key order, same str / int / list / dict values, the same
 * ContentPart), for the usual message only; None for anything else, which the Python
 * reference then decides.  The usual message:
 *   - its head (up to the first CRLFCRLF, else the first LFLF, as Python cuts it) is printable
 *     ASCII (0x20..0x7E) and TAB, with LF line ends, each optionally preceded by CR, and no
 *     CR elsewhere: then the UTF-8 decode is the identity, and the only white space Python's
 *     str.strip() / str.split() / the regex's \s can meet are SP and TAB (plus the CR that
 *     ends a line, which Python strips and which is dropped here);
 *   - no header line starts with SP or TAB (no folding, RFC 3261 7.3.1: the reference
 *     unfolds), at most `max_headers` lines after the start line (the reference cuts there);
 *   - an SDP body (the part Content-Length keeps) follows the same byte rules, a CR being
 *     allowed before LF or as its last byte.
 * Anything else in a body that is not SDP is carried as bytes (ContentPart), unread.
 * The header-name, SDP-attribute and digit-type tables are the Python module's, passed in by
 * `configure_sip` (one source of truth). */

#define WORD_MAX 64
typedef struct {
    char s[WORD_MAX];
    Py_ssize_t n;
    PyObject *value;
} word_t;
typedef struct {
    word_t *w;
    Py_ssize_t count, cap;
} words_t;

static word_t g_name_words[256], g_plain_words[32], g_dir_words[32];
static words_t g_names = {g_name_words, 0, 256};    /* lower-case name as written -> kept name */
static words_t g_sdp_plain = {g_plain_words, 0, 32}; /* a=<name>:<arg> kept as target[name] = arg */
static words_t g_sdp_dirs = {g_dir_words, 0, 32};    /* a=<direction> */
static PyObject *g_digit_types, *g_content_part, *g_kind_digits, *g_kind_body;
static Py_ssize_t g_max_headers = -1; /* -1: configure_sip was not called */

/* dict keys and constant values (interned at import) */
static PyObject *k_length, *k_start_line, *k_status_code, *k_reason, *k_method, *k_request_uri, *k_header_names,
    *k_headers, *k_call_id, *k_from, *k_to, *k_cseq, *k_number, *k_contact, *k_pai, *k_content_type, *k_body_length,
    *k_sdp, *k_display_name, *k_uri, *k_tag, *h_call_id, *h_from, *h_to, *h_cseq, *h_contact, *h_pai,
    *h_content_length, *h_content_type, *k_origin, *k_username, *k_session_id, *k_version, *k_network_type,
    *k_address_type, *k_address, *k_connection, *k_media, *k_port, *k_protocol, *k_formats, *k_rtpmap,
    *k_direction, *v_octet_stream, *v_sip_body;

static int init_sip_keys(void) {
#define KEY(var, text)                                                                                                 \
    if ((var = PyUnicode_InternFromString(text)) == NULL)                                                              \
        return -1;
    KEY(k_length, "length") KEY(k_start_line, "start_line") KEY(k_status_code, "status_code")
    KEY(k_reason, "reason") KEY(k_method, "method") KEY(k_request_uri, "request_uri")
    KEY(k_header_names, "header_names") KEY(k_headers, "headers") KEY(k_call_id, "call_id") KEY(k_from, "from")
    KEY(k_to, "to") KEY(k_cseq, "cseq") KEY(k_number, "number") KEY(k_contact, "contact")
    KEY(k_pai, "p_asserted_identity") KEY(k_content_type, "content_type") KEY(k_body_length, "body_length")
    KEY(k_sdp, "sdp") KEY(k_display_name, "display_name") KEY(k_uri, "uri") KEY(k_tag, "tag")
    KEY(h_call_id, "Call-ID") KEY(h_from, "From") KEY(h_to, "To") KEY(h_cseq, "CSeq") KEY(h_contact, "Contact")
    KEY(h_pai, "P-Asserted-Identity") KEY(h_content_length, "Content-Length") KEY(h_content_type, "Content-Type")
    KEY(k_origin, "origin") KEY(k_username, "username") KEY(k_session_id, "session_id") KEY(k_version, "version")
    KEY(k_network_type, "network_type") KEY(k_address_type, "address_type") KEY(k_address, "address")
    KEY(k_connection, "connection") KEY(k_media, "media") KEY(k_port, "port") KEY(k_protocol, "protocol")
    KEY(k_formats, "formats") KEY(k_rtpmap, "rtpmap") KEY(k_direction, "direction")
    KEY(v_octet_stream, "application/octet-stream") KEY(v_sip_body, "sip-body")
#undef KEY
    return 0;
}

static void words_clear(words_t *t) {
    for (Py_ssize_t i = 0; i < t->count; i++)
        Py_CLEAR(t->w[i].value);
    t->count = 0;
}

static void clear_sip_config(void) {
    words_clear(&g_names);
    words_clear(&g_sdp_plain);
    words_clear(&g_sdp_dirs);
    Py_CLEAR(g_digit_types);
    Py_CLEAR(g_content_part);
    Py_CLEAR(g_kind_digits);
    Py_CLEAR(g_kind_body);
    g_max_headers = -1;
}

static inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c; }

/* Adds key -> value (both str; the key ASCII, lower case when `lower`) to a table. */
static int words_add(words_t *t, PyObject *key, PyObject *value, int lower) {
    if (!PyUnicode_Check(key) || !PyUnicode_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "table entries must be str");
        return -1;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(key) < 0)
        return -1;
#endif
    if (!PyUnicode_IS_ASCII(key) || PyUnicode_GET_LENGTH(key) >= WORD_MAX) {
        PyErr_SetString(PyExc_ValueError, "table names must be short ASCII strings");
        return -1;
    }
    if (t->count >= t->cap) {
        PyErr_SetString(PyExc_ValueError, "table too large");
        return -1;
    }
    const char *s = (const char *)PyUnicode_1BYTE_DATA(key);
    Py_ssize_t n = PyUnicode_GET_LENGTH(key);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (lower && ascii_lower(s[i]) != s[i]) {
            PyErr_SetString(PyExc_ValueError, "header names must be lower case");
            return -1;
        }
    }
    word_t *w = &t->w[t->count];
    memcpy(w->s, s, (size_t)n);
    w->n = n;
    w->value = Py_NewRef(value);
    t->count++;
    return 0;
}

/* Every str of an iterable, each its own value. */
static int words_add_all(words_t *t, PyObject *iterable) {
    PyObject *it = PyObject_GetIter(iterable), *item;
    if (it == NULL)
        return -1;
    while ((item = PyIter_Next(it)) != NULL) {
        int r = words_add(t, item, item, 0);
        Py_DECREF(item);
        if (r < 0) {
            Py_DECREF(it);
            return -1;
        }
    }
    Py_DECREF(it);
    return PyErr_Occurred() ? -1 : 0;
}

/* The value of the entry named s[:n] (ASCII case folded when `fold`), borrowed; or NULL. */
static PyObject *words_find(const words_t *t, const char *s, Py_ssize_t n, int fold) {
    for (Py_ssize_t i = 0; i < t->count; i++) {
        const word_t *w = &t->w[i];
        if (w->n != n)
            continue;
        Py_ssize_t j = 0;
        if (fold) {
            while (j < n && ascii_lower(s[j]) == w->s[j])
                j++;
        } else {
            while (j < n && s[j] == w->s[j])
                j++;
        }
        if (j == n)
            return w->value;
    }
    return NULL;
}

static PyObject *configure_sip(PyObject *self, PyObject *args) {
    PyObject *names, *plain, *dirs, *digits, *part, *kdigits, *kbody, *key, *value;
    Py_ssize_t max_headers, pos = 0;
    if (!PyArg_ParseTuple(args, "O!OOOOOOn:configure_sip", &PyDict_Type, &names, &plain, &dirs, &digits, &part,
                          &kdigits, &kbody, &max_headers))
        return NULL;
    if (!PyAnySet_Check(digits) || !PyCallable_Check(part) || max_headers < 0) {
        PyErr_SetString(PyExc_TypeError, "configure_sip: digit types must be a set, ContentPart callable");
        return NULL;
    }
    clear_sip_config();
    while (PyDict_Next(names, &pos, &key, &value)) {
        if (words_add(&g_names, key, value, 1) < 0)
            goto fail;
    }
    if (words_add_all(&g_sdp_plain, plain) < 0 || words_add_all(&g_sdp_dirs, dirs) < 0)
        goto fail;
    g_digit_types = Py_NewRef(digits);
    g_content_part = Py_NewRef(part);
    g_kind_digits = Py_NewRef(kdigits);
    g_kind_body = Py_NewRef(kbody);
    g_max_headers = max_headers;
    Py_RETURN_NONE;
fail:
    clear_sip_config();
    return NULL;
}

typedef struct {
    const char *p;
    Py_ssize_t n;
} span_t;

static inline int is_wsp(char c) { return c == ' ' || c == '\t'; }

static inline span_t mkspan(const char *p, Py_ssize_t n) {
    span_t s = {p, n};
    return s;
}

/* str.strip() on the usual message: SP and TAB are the only white space in it. */
static inline span_t trim(const char *p, Py_ssize_t n) {
    while (n > 0 && is_wsp(p[0])) {
        p++;
        n--;
    }
    while (n > 0 && is_wsp(p[n - 1]))
        n--;
    return mkspan(p, n);
}

static inline Py_ssize_t find_char(const char *p, Py_ssize_t n, char c) {
    const char *q = n > 0 ? memchr(p, c, (size_t)n) : NULL;
    return q == NULL ? -1 : q - p;
}

static Py_ssize_t find_seq(const char *p, Py_ssize_t n, const char *seq, Py_ssize_t m) {
    Py_ssize_t i = 0;
    while (n - i >= m) {
        Py_ssize_t at = find_char(p + i, n - i - m + 1, seq[0]);
        if (at < 0)
            return -1;
        i += at;
        if (memcmp(p + i, seq, (size_t)m) == 0)
            return i;
        i++;
    }
    return -1;
}

/* An ASCII str of p[:n] (the caller has checked the bytes). */
static PyObject *astr(const char *p, Py_ssize_t n) {
    PyObject *o = PyUnicode_New(n, 127);
    if (o != NULL && n > 0)
        memcpy(PyUnicode_1BYTE_DATA(o), p, (size_t)n);
    return o;
}

/* The text of a str made by astr (ASCII, compact). */
static inline span_t ustr(PyObject *o) {
    return mkspan((const char *)PyUnicode_1BYTE_DATA(o), PyUnicode_GET_LENGTH(o));
}

/* _number: 1..18 ASCII digits -> their value, else -1. */
static long long small_number(const char *p, Py_ssize_t n) {
    if (n < 1 || n > 18)
        return -1;
    long long v = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* `text if _number(text) is None else _number(text)` */
static PyObject *number_or_str(const char *p, Py_ssize_t n) {
    long long v = small_number(p, n);
    return v >= 0 ? PyLong_FromLongLong(v) : astr(p, n);
}

/* d[key] = value, stealing value (which may be NULL: an error already set). */
static int set_new(PyObject *d, PyObject *key, PyObject *value) {
    if (value == NULL)
        return -1;
    int r = PyDict_SetItem(d, key, value);
    Py_DECREF(value);
    return r;
}

static int append_new(PyObject *list, PyObject *value) {
    if (value == NULL)
        return -1;
    int r = PyList_Append(list, value);
    Py_DECREF(value);
    return r;
}

/* _TAG = re.compile(r";\s*tag\s*=\s*([^;\s,]+)", re.IGNORECASE).search(params), for text whose
 * only white space is SP and TAB: no backtracking can change a match, as "tag", "=" and the
 * value's first character are none of them white space. */
static int find_tag(span_t s, span_t *tag) {
    const char *p = s.p;
    Py_ssize_t n = s.n;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (p[i] != ';')
            continue;
        Py_ssize_t j = i + 1;
        while (j < n && is_wsp(p[j]))
            j++;
        if (n - j < 3 || ascii_lower(p[j]) != 't' || ascii_lower(p[j + 1]) != 'a' || ascii_lower(p[j + 2]) != 'g')
            continue;
        j += 3;
        while (j < n && is_wsp(p[j]))
            j++;
        if (j >= n || p[j] != '=')
            continue;
        j++;
        while (j < n && is_wsp(p[j]))
            j++;
        Py_ssize_t k = j;
        while (k < n && p[k] != ';' && p[k] != ',' && !is_wsp(p[k]))
            k++;
        if (k > j) {
            *tag = mkspan(p + j, k - j);
            return 1;
        }
    }
    return 0;
}

/* name_addr (RFC 3261 20.20 / 20.39 name-addr or addr-spec, with its tag parameter). */
static PyObject *name_addr(span_t v) {
    PyObject *out = PyDict_New();
    if (out == NULL)
        return NULL;
    span_t params, tag;
    Py_ssize_t lt = find_char(v.p, v.n, '<');
    if (lt >= 0) {
        Py_ssize_t gt = find_char(v.p + lt, v.n - lt, '>');
        if (lt > 0) {
            span_t d = trim(v.p, lt);
            while (d.n > 0 && d.p[0] == '"') {
                d.p++;
                d.n--;
            }
            while (d.n > 0 && d.p[d.n - 1] == '"')
                d.n--;
            d = trim(d.p, d.n);
            if (d.n > 0 && set_new(out, k_display_name, astr(d.p, d.n)) < 0)
                goto fail;
        }
        if (gt < 0) {
            span_t u = trim(v.p + lt + 1, v.n - lt - 1);
            if (set_new(out, k_uri, astr(u.p, u.n)) < 0)
                goto fail;
            return out; /* no parameters, no tag */
        }
        gt += lt;
        span_t u = trim(v.p + lt + 1, gt - lt - 1);
        if (set_new(out, k_uri, astr(u.p, u.n)) < 0)
            goto fail;
        params = mkspan(v.p + gt + 1, v.n - gt - 1);
    } else {
        span_t t = trim(v.p, v.n);
        Py_ssize_t semi = find_char(t.p, t.n, ';');
        span_t u = trim(t.p, semi >= 0 ? semi : t.n);
        if (set_new(out, k_uri, astr(u.p, u.n)) < 0)
            goto fail;
        if (semi < 0)
            return out; /* params == ";": no tag */
        params = mkspan(t.p + semi, t.n - semi);
    }
    if (find_tag(params, &tag) && set_new(out, k_tag, astr(tag.p, tag.n)) < 0)
        goto fail;
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

/* _uri: name_addr(value)["uri"] */
static PyObject *uri_of(span_t v) {
    Py_ssize_t lt = find_char(v.p, v.n, '<');
    span_t u;
    if (lt >= 0) {
        Py_ssize_t gt = find_char(v.p + lt, v.n - lt, '>');
        u = trim(v.p + lt + 1, (gt < 0 ? v.n : lt + gt) - lt - 1);
    } else {
        span_t t = trim(v.p, v.n);
        Py_ssize_t semi = find_char(t.p, t.n, ';');
        u = trim(t.p, semi >= 0 ? semi : t.n);
    }
    return astr(u.p, u.n);
}

/* _uris: the URIs of a comma-separated name-addr header (a list of astr values). */
static PyObject *uris(PyObject *values) {
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    Py_ssize_t nv = PyList_GET_SIZE(values);
    if (nv == 1) {
        span_t v = ustr(PyList_GET_ITEM(values, 0));
        if (find_char(v.p, v.n, ',') < 0) {
            if (v.n > 0 && append_new(out, uri_of(v)) < 0)
                goto fail;
            return out;
        }
    }
    for (Py_ssize_t i = 0; i < nv; i++) {
        span_t v = ustr(PyList_GET_ITEM(values, i));
        const char *p = v.p;
        Py_ssize_t rest = v.n;
        for (;;) {
            Py_ssize_t comma = find_char(p, rest, ',');
            span_t seg = mkspan(p, comma >= 0 ? comma : rest);
            if (trim(seg.p, seg.n).n > 0 && append_new(out, uri_of(seg)) < 0)
                goto fail;
            if (comma < 0)
                break;
            p += comma + 1;
            rest -= comma + 1;
        }
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

/* The next SP/TAB-separated token of p[:n] from *pos (str.split() on the usual text). */
static int next_token(const char *p, Py_ssize_t n, Py_ssize_t *pos, span_t *tok) {
    Py_ssize_t i = *pos;
    while (i < n && is_wsp(p[i]))
        i++;
    if (i >= n) {
        *pos = n;
        return 0;
    }
    Py_ssize_t j = i;
    while (j < n && !is_wsp(p[j]))
        j++;
    *tok = mkspan(p + i, j - i);
    *pos = j;
    return 1;
}

/* `text.split("/")[0]` */
static inline span_t before_slash(span_t t) {
    Py_ssize_t slash = find_char(t.p, t.n, '/');
    return slash >= 0 ? mkspan(t.p, slash) : t;
}

/* The bytes an SDP body or a SIP head may hold on the fast path. */
static inline int plain_byte(unsigned char c) { return (c >= 0x20 && c < 0x7F) || c == '\t'; }

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* The index of the first byte of p[i:n] that is not plain_byte, or n: eight bytes at a time
 * while all eight are 0x20..0x7E ("hasless" / "hasmore", Bit Twiddling Hacks), else one by
 * one for those eight. */
static Py_ssize_t skip_plain(const char *p, Py_ssize_t i, Py_ssize_t n) {
    for (;;) {
        while (n - i >= 8) {
            uint64_t x;
            memcpy(&x, p + i, 8);
            if ((((x - ONES * 0x20) & ~x) | ((x + ONES * (127 - 0x7E)) | x)) & HIGHS)
                break;
            i += 8;
        }
        Py_ssize_t stop = n - i >= 8 ? i + 8 : n;
        while (i < stop && plain_byte((unsigned char)p[i]))
            i++;
        if (i < stop || i == n)
            return i;
    }
}

/* parse_sdp (RFC 4566 5.2 o=, 5.7 c=, 5.14 m=, 6 a=) of b[:n]: 1 with *out set, 0 when b is
 * not the usual body (the Python reference decides), -1 on error. */
static int sdp_parse(const char *b, Py_ssize_t n, PyObject **out) {
    for (Py_ssize_t i = skip_plain(b, 0, n); i < n; i = skip_plain(b, i + 1, n)) {
        if (b[i] != '\n' && !(b[i] == '\r' && (i + 1 == n || b[i + 1] == '\n')))
            return 0;
    }
    PyObject *sdp = PyDict_New(), *media = PyList_New(0), *target;
    if (sdp == NULL || media == NULL)
        goto fail;
    target = sdp; /* borrowed: sdp, or the last dict of media */
    Py_ssize_t pos = 0;
    for (;;) {
        Py_ssize_t lf = find_char(b + pos, n - pos, '\n');
        Py_ssize_t end = lf >= 0 ? pos + lf : n;
        const char *l = b + pos;
        Py_ssize_t ln = end - pos;
        if (ln > 0 && l[ln - 1] == '\r') /* white space to every value below */
            ln--;
        if (ln >= 2 && l[1] == '=') {
            const char *v = l + 2;
            Py_ssize_t vn = ln - 2, tp = 0;
            span_t t[7];
            int count = 0;
            if (l[0] == 'a') {
                span_t s = trim(v, vn);
                Py_ssize_t colon = find_char(s.p, s.n, ':');
                span_t name = colon >= 0 ? mkspan(s.p, colon) : s;
                span_t arg = colon >= 0 ? mkspan(s.p + colon + 1, s.n - colon - 1) : mkspan(s.p + s.n, 0);
                PyObject *w;
                if (name.n == 6 && memcmp(name.p, "rtpmap", 6) == 0) {
                    if (arg.n > 0) {
                        Py_ssize_t sp = find_char(arg.p, arg.n, ' ');
                        span_t fmt = sp >= 0 ? mkspan(arg.p, sp) : arg;
                        span_t enc = sp >= 0 ? trim(arg.p + sp + 1, arg.n - sp - 1) : mkspan(arg.p, 0);
                        PyObject *rtpmap = PyDict_GetItemWithError(target, k_rtpmap); /* borrowed */
                        if (rtpmap == NULL && PyErr_Occurred())
                            goto fail;
                        PyObject *fkey = astr(fmt.p, fmt.n);
                        if (fkey == NULL)
                            goto fail;
                        if (rtpmap == NULL) {
                            PyObject *fresh = PyDict_New();
                            if (fresh == NULL || set_new(fresh, fkey, astr(enc.p, enc.n)) < 0 ||
                                PyDict_SetItem(target, k_rtpmap, fresh) < 0) {
                                Py_XDECREF(fresh);
                                Py_DECREF(fkey);
                                goto fail;
                            }
                            Py_DECREF(fresh);
                        } else if (!PyDict_CheckExact(rtpmap) || set_new(rtpmap, fkey, astr(enc.p, enc.n)) < 0) {
                            Py_DECREF(fkey);
                            goto fail;
                        }
                        Py_DECREF(fkey);
                    }
                } else if ((w = words_find(&g_sdp_plain, name.p, name.n, 0)) != NULL) {
                    if (set_new(target, w, astr(arg.p, arg.n)) < 0)
                        goto fail;
                } else if ((w = words_find(&g_sdp_dirs, name.p, name.n, 0)) != NULL) {
                    if (PyDict_SetItem(target, k_direction, w) < 0)
                        goto fail;
                }
            } else if (l[0] == 'm') {
                while (count < 3 && next_token(v, vn, &tp, &t[count]))
                    count++;
                if (count == 3) {
                    PyObject *m = PyDict_New(), *formats = PyList_New(0);
                    span_t port = before_slash(t[1]);
                    if (m == NULL || formats == NULL || set_new(m, k_media, astr(t[0].p, t[0].n)) < 0 ||
                        set_new(m, k_port, number_or_str(port.p, port.n)) < 0 ||
                        set_new(m, k_protocol, astr(t[2].p, t[2].n)) < 0) {
                        Py_XDECREF(m);
                        Py_XDECREF(formats);
                        goto fail;
                    }
                    while (next_token(v, vn, &tp, &t[3])) {
                        if (append_new(formats, astr(t[3].p, t[3].n)) < 0) {
                            Py_DECREF(m);
                            Py_DECREF(formats);
                            goto fail;
                        }
                    }
                    if (set_new(m, k_formats, formats) < 0 || PyList_Append(media, m) < 0) {
                        Py_DECREF(m);
                        goto fail;
                    }
                    Py_DECREF(m); /* media holds it */
                    target = m;
                }
            } else if (l[0] == 'c') {
                while (count < 3 && next_token(v, vn, &tp, &t[count]))
                    count++;
                if (count == 3) {
                    span_t address = before_slash(t[2]);
                    PyObject *c = PyDict_New();
                    if (c == NULL || set_new(c, k_address_type, astr(t[1].p, t[1].n)) < 0 ||
                        set_new(c, k_address, astr(address.p, address.n)) < 0 ||
                        PyDict_SetItem(target, k_connection, c) < 0) {
                        Py_XDECREF(c);
                        goto fail;
                    }
                    Py_DECREF(c);
                }
            } else if (l[0] == 'o') {
                while (count < 7 && next_token(v, vn, &tp, &t[count]))
                    count++;
                if (count == 6) {
                    PyObject *keys[6] = {k_username,     k_session_id,   k_version,
                                         k_network_type, k_address_type, k_address};
                    PyObject *o = PyDict_New();
                    if (o == NULL)
                        goto fail;
                    for (int i = 0; i < 6; i++) {
                        if (set_new(o, keys[i], astr(t[i].p, t[i].n)) < 0) {
                            Py_DECREF(o);
                            goto fail;
                        }
                    }
                    if (set_new(sdp, k_origin, o) < 0)
                        goto fail;
                }
            }
        }
        if (lf < 0)
            break;
        pos = end + 1;
    }
    if (PyList_GET_SIZE(media) > 0 && PyDict_SetItem(sdp, k_media, media) < 0)
        goto fail;
    Py_DECREF(media);
    *out = sdp;
    return 1;
fail:
    Py_XDECREF(sdp);
    Py_XDECREF(media);
    return -1;
}

static int sip_configured(void) {
    if (g_max_headers < 0) {
        PyErr_SetString(PyExc_RuntimeError, "calea.handover._speedups.configure_sip() was not called");
        return 0;
    }
    return 1;
}

static PyObject *parse_sdp_fast(PyObject *self, PyObject *arg) {
    if (!sip_configured())
        return NULL;
    if (!PyBytes_CheckExact(arg))
        Py_RETURN_NONE;
    PyObject *sdp = NULL;
    int r = sdp_parse(PyBytes_AS_STRING(arg), PyBytes_GET_SIZE(arg), &sdp);
    if (r < 0)
        return NULL;
    if (r == 0)
        Py_RETURN_NONE;
    return sdp;
}

/* The first value of a kept header (borrowed), or NULL (with an error set, or not). */
static PyObject *first_value(PyObject *headers, PyObject *name) {
    PyObject *values = PyDict_GetItemWithError(headers, name);
    return values == NULL ? NULL : PyList_GET_ITEM(values, 0);
}

static PyObject *parse_sip_fast(PyObject *self, PyObject *arg) {
    if (!sip_configured())
        return NULL;
    if (!PyBytes_CheckExact(arg))
        Py_RETURN_NONE;
    const char *d = PyBytes_AS_STRING(arg);
    const Py_ssize_t n = PyBytes_GET_SIZE(arg);
    PyObject *sip = NULL, *names = NULL, *headers = NULL, *found, *sdp = NULL, *result;
    Py_ssize_t i, sep = 4, cut = find_seq(d, n, "\r\n\r\n", 4);
    if (cut < 0) {
        cut = find_seq(d, n, "\n\n", 2);
        sep = 2;
    }
    const Py_ssize_t hn = cut < 0 ? n : cut;                 /* the head is d[:hn] */
    const char *body = cut < 0 ? d + n : d + cut + sep;      /* the body, up to d + n */
    Py_ssize_t bn = cut < 0 ? 0 : n - (cut + sep), nlf = 0;

    /* the usual head: printable ASCII and TAB, LF or CRLF line ends, few lines */
    for (i = skip_plain(d, 0, hn); i < hn; i = skip_plain(d, i + 1, hn)) {
        if (d[i] == '\n')
            nlf++;
        else if (!(d[i] == '\r' && i + 1 < hn && d[i + 1] == '\n'))
            Py_RETURN_NONE;
    }
    if (nlf > g_max_headers)
        Py_RETURN_NONE;

    /* header lines (RFC 3261 7.3): name ":" value; kept values by kept name */
    Py_ssize_t start_end = find_char(d, hn, '\n');
    names = PyList_New(0);
    headers = PyDict_New();
    if (names == NULL || headers == NULL)
        goto fail;
    for (Py_ssize_t at = start_end; at >= 0 && at < hn;) {
        const char *l = d + at + 1;
        Py_ssize_t lf = find_char(l, hn - at - 1, '\n');
        Py_ssize_t ln = lf >= 0 ? lf : hn - at - 1;
        at = lf >= 0 ? at + 1 + lf : hn;
        if (ln > 0 && l[ln - 1] == '\r')
            ln--;
        if (ln == 0)
            continue; /* skipped by the reference too */
        if (is_wsp(l[0]))
            goto none; /* a folded line (or one with nothing to fold into) */
        Py_ssize_t colon = find_char(l, ln, ':');
        if (colon < 0)
            continue;
        span_t raw = trim(l, colon);
        PyObject *kept = words_find(&g_names, raw.p, raw.n, 1); /* borrowed */
        if (kept != NULL) {
            if (PyList_Append(names, kept) < 0)
                goto fail;
            span_t v = trim(l + colon + 1, ln - colon - 1);
            PyObject *value = astr(v.p, v.n), *values;
            if (value == NULL)
                goto fail;
            values = PyDict_GetItemWithError(headers, kept);
            if (values != NULL) {
                if (append_new(values, value) < 0)
                    goto fail;
            } else {
                values = PyErr_Occurred() ? NULL : PyList_New(1);
                if (values == NULL) {
                    Py_DECREF(value);
                    goto fail;
                }
                PyList_SET_ITEM(values, 0, value);
                if (set_new(headers, kept, values) < 0)
                    goto fail;
            }
        } else if (append_new(names, astr(raw.p, raw.n)) < 0) {
            goto fail;
        }
    }

    /* the start line (RFC 3261 7.1 Request-Line / 7.2 Status-Line) */
    Py_ssize_t sn = start_end < 0 ? hn : start_end;
    if (start_end >= 0 && sn > 0 && d[sn - 1] == '\r')
        sn--;
    sip = PyDict_New();
    if (sip == NULL || set_new(sip, k_length, PyLong_FromSsize_t(n)) < 0 ||
        set_new(sip, k_start_line, astr(d, sn < 1024 ? sn : 1024)) < 0)
        goto fail;
    {
        span_t part[3];
        int count = 1;
        Py_ssize_t s1 = find_char(d, sn, ' '), s2 = -1;
        part[0] = mkspan(d, s1 >= 0 ? s1 : sn);
        if (s1 >= 0) {
            s2 = find_char(d + s1 + 1, sn - s1 - 1, ' ');
            if (s2 >= 0) {
                s2 += s1 + 1;
                part[1] = mkspan(d + s1 + 1, s2 - s1 - 1);
                part[2] = mkspan(d + s2 + 1, sn - s2 - 1);
                count = 3;
            } else {
                part[1] = mkspan(d + s1 + 1, sn - s1 - 1);
                count = 2;
            }
        }
        if (part[0].n >= 4 && memcmp(part[0].p, "SIP/", 4) == 0 && count >= 2) {
            long long status = small_number(part[1].p, part[1].n);
            if (status >= 0 && set_new(sip, k_status_code, PyLong_FromLongLong(status)) < 0)
                goto fail;
            if (count == 3 && set_new(sip, k_reason, astr(part[2].p, part[2].n)) < 0)
                goto fail;
        } else if (count == 3 && part[2].n >= 4 && memcmp(part[2].p, "SIP/", 4) == 0) {
            if (set_new(sip, k_method, astr(part[0].p, part[0].n)) < 0 ||
                set_new(sip, k_request_uri, astr(part[1].p, part[1].n)) < 0)
                goto fail;
        }
    }
    if (PyDict_SetItem(sip, k_header_names, names) < 0 || PyDict_SetItem(sip, k_headers, headers) < 0)
        goto fail;
    Py_CLEAR(names);

    /* the facts of the kept headers */
    if ((found = first_value(headers, h_call_id)) != NULL) {
        if (PyDict_SetItem(sip, k_call_id, found) < 0)
            goto fail;
    } else if (PyErr_Occurred()) {
        goto fail;
    }
    if ((found = first_value(headers, h_from)) != NULL) {
        if (set_new(sip, k_from, name_addr(ustr(found))) < 0)
            goto fail;
    } else if (PyErr_Occurred()) {
        goto fail;
    }
    if ((found = first_value(headers, h_to)) != NULL) {
        if (set_new(sip, k_to, name_addr(ustr(found))) < 0)
            goto fail;
    } else if (PyErr_Occurred()) {
        goto fail;
    }
    if ((found = first_value(headers, h_cseq)) != NULL) { /* RFC 3261 20.16: number SP method */
        span_t v = ustr(found);
        Py_ssize_t sp = find_char(v.p, v.n, ' ');
        span_t num = sp >= 0 ? mkspan(v.p, sp) : v;
        span_t method = sp >= 0 ? trim(v.p + sp + 1, v.n - sp - 1) : mkspan(v.p, 0);
        PyObject *cseq = PyDict_New();
        if (cseq == NULL || set_new(cseq, k_number, number_or_str(num.p, num.n)) < 0 ||
            set_new(cseq, k_method, astr(method.p, method.n)) < 0) {
            Py_XDECREF(cseq);
            goto fail;
        }
        if (set_new(sip, k_cseq, cseq) < 0)
            goto fail;
    } else if (PyErr_Occurred()) {
        goto fail;
    }
    if ((found = PyDict_GetItemWithError(headers, h_contact)) != NULL) {
        if (set_new(sip, k_contact, uris(found)) < 0)
            goto fail;
    } else if (PyErr_Occurred()) {
        goto fail;
    }
    if ((found = PyDict_GetItemWithError(headers, h_pai)) != NULL) {
        if (set_new(sip, k_pai, uris(found)) < 0)
            goto fail;
    } else if (PyErr_Occurred()) {
        goto fail;
    }

    /* the body: Content-Length (RFC 3261 20.14) may cut it, never extend it */
    if (bn == 0)
        goto done;
    if ((found = first_value(headers, h_content_length)) != NULL) {
        span_t v = ustr(found);
        long long declared = small_number(v.p, v.n);
        if (declared >= 0 && declared < bn) {
            bn = (Py_ssize_t)declared;
            if (bn == 0)
                goto done;
        }
    } else if (PyErr_Occurred()) {
        goto fail;
    }
    found = first_value(headers, h_content_type); /* borrowed, or NULL: "" */
    if (found == NULL && PyErr_Occurred())
        goto fail;
    span_t ct = found == NULL ? mkspan(d, 0) : ustr(found);
    Py_ssize_t semi = find_char(ct.p, ct.n, ';');
    span_t mt = trim(ct.p, semi >= 0 ? semi : ct.n);
    if (PyDict_SetItem(sip, k_content_type, ct.n > 0 ? found : Py_None) < 0 ||
        set_new(sip, k_body_length, PyLong_FromSsize_t(bn)) < 0)
        goto fail;
    static const char application_sdp[] = "application/sdp";
    int is_sdp = mt.n == (Py_ssize_t)sizeof application_sdp - 1;
    for (i = 0; is_sdp && i < mt.n; i++)
        is_sdp = ascii_lower(mt.p[i]) == application_sdp[i];
    if (is_sdp) {
        int r = sdp_parse(body, bn, &sdp);
        if (r < 0)
            goto fail;
        if (r == 0)
            goto none;
        if (set_new(sip, k_sdp, sdp) < 0)
            goto fail;
        goto done;
    }
    /* any other body is content (rule A6): digits or a message body, as bytes */
    PyObject *media_type = PyUnicode_New(mt.n, 127);
    if (media_type == NULL)
        goto fail;
    for (i = 0; i < mt.n; i++)
        PyUnicode_1BYTE_DATA(media_type)[i] = (Py_UCS1)ascii_lower(mt.p[i]);
    int digits = PySet_Contains(g_digit_types, media_type);
    Py_DECREF(media_type);
    if (digits < 0)
        goto fail;
    PyObject *data = PyBytes_FromStringAndSize(body, bn);
    if (data == NULL)
        goto fail;
    PyObject *call_args[4] = {digits ? g_kind_digits : g_kind_body, data, ct.n > 0 ? found : v_octet_stream,
                              v_sip_body};
    PyObject *part = PyObject_Vectorcall(g_content_part, call_args, 4, NULL);
    Py_DECREF(data);
    if (part == NULL)
        goto fail;
    PyObject *parts = PyTuple_Pack(1, part);
    Py_DECREF(part);
    if (parts == NULL)
        goto fail;
    Py_DECREF(headers);
    result = PyTuple_Pack(2, sip, parts);
    Py_DECREF(sip);
    Py_DECREF(parts);
    return result;

done:
    Py_DECREF(headers);
    result = PyTuple_Pack(2, sip, g_empty);
    Py_DECREF(sip);
    return result;
none:
    Py_XDECREF(sip);
    Py_XDECREF(names);
    Py_XDECREF(headers);
    Py_RETURN_NONE;
fail:
    Py_XDECREF(sip);
    Py_XDECREF(names);
    Py_XDECREF(headers);
    return NULL;
}

/* ---- the usual SIP IRI: a TS 102 232-5 iPMMIRI sIPMessage -------------------------------
 *
 * sip_iri(rec, q, e, parse_sip): exactly calea.handover.etsi102232_payloads._sip_iri_py (the
 * straight-line read of the iRIPayloadSequence value rec[q:e]) for the usual record, as
 * (payload fields, SIP content parts); None for anything else, which the Python reference
 * then decides.  The usual record, besides the layout the reference checks (same tags, the
 * same definite lengths: short form, 0x81 or 0x82), reads nothing outside rec[q:e] and has
 * TS 102 232-1 IPAddress values whose elements all have a one-octet tag and a short-form
 * length, and
 *   - iP-type [1] / iP-assignment [3]: one octet the table names (name_of's "unknown(n)"
 *     and longer encodings go to Python);
 *   - iP-value [2]: binary [1] of 4 octets (dotted quad, as inet_ntoa), of 16 octets when
 *     inet_ntop writes them without a dotted quad (Python's ip_text is that same inet_ntop
 *     text; the dotted forms it rewrites with ipaddress go to Python), of any other length
 *     as hex; any other alternative as UTF-8 text (decode_text: backslashreplace);
 *   - iPv6PrefixLength [4]: at most 8 octets; iPv4SubnetMask [5]: as a binary address.
 * The SIP message: parse_sip(data) is called as the reference calls its module's parse_sip;
 * when that is etsi102232_sip.parse_sip (the C-first dispatcher, given to `configure_iri`),
 * its C part runs here directly and, when it answers None, the Python parser `configure_iri`
 * was given.  The enumeration tables are the Python module's, passed in by `configure_iri`. */

#ifdef _WIN32
#define HAVE_INET_NTOP 0 /* ws2_32 is not linked: 16-octet addresses go to Python */
#else
#include <arpa/inet.h>
#define HAVE_INET_NTOP 1
#endif

static PyObject *g_iri_types[256];      /* the iRIType octet -> name (IRI_TYPES) */
static PyObject *g_ip_types[256];       /* one-octet iP-type (signed) -> name; NULL: not named */
static PyObject *g_ip_assignments[256]; /* one-octet iP-assignment (signed) -> name */
static PyObject *g_iri_sip_parser;      /* etsi102232_sip.parse_sip: the dispatcher */
static PyObject *g_iri_sip_reference;   /* etsi102232_sip._parse_sip_py */

static PyObject *k_iri, *k_sip, *k_ip, *k_type, *k_contents, *k_object_id, *k_message, *k_source_address,
    *k_destination_address, *k_src, *k_dst, *k_assignment, *k_prefix_length, *k_subnet_mask, *v_ipmmiri,
    *v_sip_message;
/* The answer's dicts are copies of these (their keys in the reference's order; PyDict_Copy
 * clones the key table), the values then set: no table growth, no new entries. */
static PyObject *t_iri, *t_ip, *t_fields;

/* Decoded IPAddress values by their encoding (a mediator sends the same few addresses again
 * and again; the reference caches them too): direct-mapped, a hit is a PyDict_Copy.  The
 * values hold the configured names, so `configure_iri` empties it. */
#define ADDRESS_SLOTS 256
typedef struct {
    Py_ssize_t n;
    unsigned char key[128]; /* an IPAddress with a short-form length: under 128 octets */
    PyObject *value;        /* NULL: empty */
} address_slot_t;
static address_slot_t g_addresses[ADDRESS_SLOTS];

static int init_iri_keys(void) {
#define KEY(var, text)                                                                                                 \
    if ((var = PyUnicode_InternFromString(text)) == NULL)                                                              \
        return -1;
    KEY(k_iri, "iri") KEY(k_sip, "sip") KEY(k_ip, "ip") KEY(k_type, "type") KEY(k_contents, "contents")
    KEY(k_object_id, "object_id") KEY(k_message, "message") KEY(k_source_address, "source_address")
    KEY(k_destination_address, "destination_address") KEY(k_src, "src") KEY(k_dst, "dst")
    KEY(k_assignment, "assignment") KEY(k_prefix_length, "prefix_length") KEY(k_subnet_mask, "subnet_mask")
    KEY(v_ipmmiri, "iPMMIRI") KEY(v_sip_message, "sIPMessage")
#undef KEY
    PyObject *iri[] = {k_type, Py_None, k_contents, v_ipmmiri, k_object_id, Py_None, k_message, v_sip_message,
                       k_source_address, Py_None, k_destination_address, Py_None};
    PyObject *ip[] = {k_src, Py_None, k_dst, Py_None}, *fields[] = {k_iri, Py_None, k_sip, Py_None, k_ip, Py_None};
    struct {
        PyObject **t, **items;
        int n;
    } templates[] = {{&t_iri, iri, 6}, {&t_ip, ip, 2}, {&t_fields, fields, 3}};
    for (int i = 0; i < 3; i++) {
        PyObject *t = *templates[i].t = PyDict_New();
        if (t == NULL)
            return -1;
        for (int j = 0; j < templates[i].n; j++) {
            if (PyDict_SetItem(t, templates[i].items[2 * j], templates[i].items[2 * j + 1]) < 0)
                return -1;
        }
    }
    return 0;
}

static void clear_iri_config(void) {
    for (int i = 0; i < 256; i++) {
        Py_CLEAR(g_iri_types[i]);
        Py_CLEAR(g_ip_types[i]);
        Py_CLEAR(g_ip_assignments[i]);
    }
    Py_CLEAR(g_iri_sip_parser);
    Py_CLEAR(g_iri_sip_reference);
    for (int i = 0; i < ADDRESS_SLOTS; i++)
        Py_CLEAR(g_addresses[i].value);
}

/* Fill table[] from {int: str}.  iri: keyed by the octet 0..255 (as bytes((value,)), any
 * other value is an error), the name used as it is; else: keyed by a one-octet signed
 * ENUMERATED -128..127 (other values can never be read from one octet), empty names left
 * out (name_of writes "unknown(n)" for them). */
static int fill_names(PyObject **table, PyObject *names, int iri) {
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(names, &pos, &key, &value)) {
        if (!PyLong_Check(key) || !PyUnicode_Check(value)) {
            PyErr_SetString(PyExc_TypeError, "configure_iri: the tables map int to str");
            return -1;
        }
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(key, &overflow);
        if (v == -1 && PyErr_Occurred())
            return -1;
        if (iri) {
            if (overflow || v < 0 || v > 255) {
                PyErr_SetString(PyExc_ValueError, "configure_iri: an iRIType value is not one octet");
                return -1;
            }
        } else if (overflow || v < -128 || v > 127 || PyUnicode_GET_LENGTH(value) == 0) {
            continue;
        }
        Py_XSETREF(table[(unsigned char)(v & 0xFF)], Py_NewRef(value));
    }
    return 0;
}

static PyObject *configure_iri(PyObject *self, PyObject *args) {
    PyObject *iri_types, *ip_types, *ip_assignments, *parser, *reference;
    if (!PyArg_ParseTuple(args, "O!O!O!OO:configure_iri", &PyDict_Type, &iri_types, &PyDict_Type, &ip_types,
                          &PyDict_Type, &ip_assignments, &parser, &reference))
        return NULL;
    if (!PyCallable_Check(parser) || !PyCallable_Check(reference)) {
        PyErr_SetString(PyExc_TypeError, "configure_iri: the SIP parsers must be callable");
        return NULL;
    }
    clear_iri_config();
    if (fill_names(g_iri_types, iri_types, 1) < 0 || fill_names(g_ip_types, ip_types, 0) < 0 ||
        fill_names(g_ip_assignments, ip_assignments, 0) < 0) {
        clear_iri_config();
        return NULL;
    }
    g_iri_sip_parser = Py_NewRef(parser);
    g_iri_sip_reference = Py_NewRef(reference);
    Py_RETURN_NONE;
}

static PyObject *hex_text(const unsigned char *s, Py_ssize_t n) {
    static const char digits[] = "0123456789abcdef";
    PyObject *o = PyUnicode_New(2 * n, 127);
    if (o == NULL)
        return NULL;
    Py_UCS1 *d = PyUnicode_1BYTE_DATA(o);
    for (Py_ssize_t i = 0; i < n; i++) {
        d[2 * i] = (Py_UCS1)digits[s[i] >> 4];
        d[2 * i + 1] = (Py_UCS1)digits[s[i] & 0xF];
    }
    return o;
}

/* The decimal digits of v at buf (no sprintf: it is most of the cost here); their count. */
static int put_decimal(char *buf, unsigned long long v) {
    char tmp[20];
    int n = 0, i;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

/* `ip_text(raw) or raw.hex()`: 1 with *out set, 0 for a 16-octet address Python writes with
 * ipaddress (or when inet_ntop is not at hand), -1 on error. */
static int ip_text_or_hex(const unsigned char *s, Py_ssize_t n, PyObject **out) {
    char buf[64];
    int len;
    if (n == 4) {
        len = put_decimal(buf, s[0]);
        for (int i = 1; i < 4; i++) {
            buf[len++] = '.';
            len += put_decimal(buf + len, s[i]);
        }
        *out = astr(buf, len);
        return *out == NULL ? -1 : 1;
    }
    if (n == 16) {
#if HAVE_INET_NTOP
        if (inet_ntop(AF_INET6, s, buf, sizeof buf) == NULL || strchr(buf, '.') != NULL)
            return 0;
        *out = astr(buf, (Py_ssize_t)strlen(buf));
        return *out == NULL ? -1 : 1;
#else
        return 0;
#endif
    }
    *out = hex_text(s, n);
    return *out == NULL ? -1 : 1;
}

/* decode_relative_oid(s[:n]) (absolute 0) or decode_oid(s[:n]) (absolute 1) for n < 128: 1
 * with *out set, 0 where it raises, -1 on error. */
static int oid_text(const unsigned char *s, Py_ssize_t n, int absolute, PyObject **out) {
    char buf[128 * 21]; /* at most 127 arcs of at most 63 bits: 19 digits and a dot each, and "2." */
    Py_ssize_t len = 0;
    unsigned long long arc = 0;
    int count = 0, first = absolute;
    if (absolute && n == 0)
        return 0; /* an empty OBJECT IDENTIFIER */
    for (Py_ssize_t i = 0; i < n; i++) {
        if (count == 0 && s[i] == 0x80)
            return 0; /* a sub-identifier with a leading 0x80 */
        arc = (arc << 7) | (s[i] & 0x7F);
        if (++count > 9)
            return 0; /* over 9 octets */
        if (!(s[i] & 0x80)) {
            if (len > 0)
                buf[len++] = '.';
            if (first) { /* X.690 8.19.4: the first sub-identifier is X * 40 + Y (X = 2 from 80 on) */
                unsigned long long x = arc < 80 ? arc / 40 : 2;
                len += put_decimal(buf + len, x);
                buf[len++] = '.';
                arc -= x * 40;
                first = 0;
            }
            len += put_decimal(buf + len, arc);
            arc = 0;
            count = 0;
        }
    }
    if (count)
        return 0; /* the last sub-identifier is unterminated */
    *out = astr(buf, len);
    return *out == NULL ? -1 : 1;
}

/* The IPAddress value r[q:e] as _ip_address reads it: 1 with *out set (a new dict), 0 when
 * it is not the usual value, -1 on error. */
static int read_ip_address(const unsigned char *r, Py_ssize_t q, Py_ssize_t e, PyObject **out) {
    PyObject *d = PyDict_New();
    if (d == NULL)
        return -1;
    for (Py_ssize_t pos = q; pos < e;) {
        if (pos + 1 >= e)
            goto unusual;
        unsigned int tag = r[pos], length = r[pos + 1];
        Py_ssize_t vq = pos + 2, ve = pos + 2 + length;
        if ((tag & 0x1F) == 0x1F || length >= 0x80 || ve > e)
            goto unusual;
        pos = ve;
        PyObject *key, *value = NULL;
        int found = 1;
        switch (tag) {
        case 0x81: /* iP-type */
        case 0x83: /* iP-assignment */
            value = length == 1 ? (tag == 0x81 ? g_ip_types : g_ip_assignments)[r[vq]] : NULL;
            if (value == NULL)
                goto unusual;
            Py_INCREF(value);
            key = tag == 0x81 ? k_type : k_assignment;
            break;
        case 0xA2: { /* iP-value CHOICE: its first TLV */
            if (vq + 1 >= ve)
                goto unusual;
            unsigned int choice = r[vq], n = r[vq + 1];
            if ((choice & 0x1F) == 0x1F || n >= 0x80 || vq + 2 + n > ve)
                goto unusual;
            if (choice == 0x81) { /* iPBinaryAddress */
                found = ip_text_or_hex(r + vq + 2, n, &value);
            } else { /* iPTextAddress (decode_text) */
                value = PyUnicode_DecodeUTF8((const char *)r + vq + 2, n, "backslashreplace");
                found = value == NULL ? -1 : 1;
            }
            key = k_address;
            break;
        }
        case 0x84: { /* iPv6PrefixLength: INTEGER */
            if (length < 1 || length > 8)
                goto unusual;
            long long v = (r[vq] & 0x80) ? -1 : 0;
            for (Py_ssize_t i = vq; i < ve; i++)
                v = (long long)(((unsigned long long)v << 8) | r[i]);
            value = PyLong_FromLongLong(v);
            found = value == NULL ? -1 : 1;
            key = k_prefix_length;
            break;
        }
        case 0x85: /* iPv4SubnetMask */
            found = ip_text_or_hex(r + vq, length, &value);
            key = k_subnet_mask;
            break;
        default:
            continue; /* not read */
        }
        if (found == 0)
            goto unusual;
        if (found < 0 || set_new(d, key, value) < 0) {
            Py_DECREF(d);
            return -1;
        }
    }
    *out = d;
    return 1;
unusual:
    Py_DECREF(d);
    return 0;
}

/* read_ip_address, by the cache; q - e under 128. */
static int ip_address(const unsigned char *r, Py_ssize_t q, Py_ssize_t e, PyObject **out) {
    const Py_ssize_t n = e - q;
    uint32_t h = 2166136261u; /* FNV-1a */
    for (Py_ssize_t i = q; i < e; i++)
        h = (h ^ r[i]) * 16777619u;
    address_slot_t *slot = &g_addresses[(h ^ (h >> 8) ^ (h >> 16)) % ADDRESS_SLOTS];
    if (slot->value != NULL && slot->n == n && memcmp(slot->key, r + q, (size_t)n) == 0) {
        *out = PyDict_Copy(slot->value);
        return *out == NULL ? -1 : 1;
    }
    PyObject *value;
    int found = read_ip_address(r, q, e, &value);
    if (found <= 0)
        return found;
    *out = PyDict_Copy(value);
    if (*out == NULL) {
        Py_DECREF(value);
        return -1;
    }
    Py_XSETREF(slot->value, value);
    slot->n = n;
    memcpy(slot->key, r + q, (size_t)n);
    return 1;
}

static PyObject *sip_iri_fast(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (!sip_configured())
        return NULL;
    if (g_iri_sip_parser == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "calea.handover._speedups.configure_iri() was not called");
        return NULL;
    }
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "sip_iri(rec, q, e, parse_sip) takes 4 arguments");
        return NULL;
    }
    PyObject *rec = args[0], *parser = args[3];
    Py_ssize_t q = PyNumber_AsSsize_t(args[1], NULL);
    if (q == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t e = PyNumber_AsSsize_t(args[2], NULL);
    if (e == -1 && PyErr_Occurred())
        return NULL;
    if (!PyBytes_CheckExact(rec) || q < 0 || e > PyBytes_GET_SIZE(rec) || q >= e)
        Py_RETURN_NONE;
    const unsigned char *r = (const unsigned char *)PyBytes_AS_STRING(rec);
    PyObject *iri_type = NULL, *object_id = NULL, *source = NULL, *destination = NULL, *data = NULL, *parsed = NULL, *iri = NULL,
             *ip = NULL, *fields = NULL, *result = NULL;
    Py_ssize_t p = q, length, src_q, src_e, dst_q, dst_e;
    int i, found;
    static const unsigned char outer[2] = {0xA2, 0xAB}, inner[2] = {0xA1, 0xA1};

    /* IRIPayload SEQUENCE, ending at e: iRIType [0] of one octet, then iRIContents [2] */
    if (r[p] != 0x30 || (length = read_len(r, e, &p)) < 0 || p + length != e)
        goto none;
    if (p + 3 >= e || r[p] != 0x80 || r[p + 1] != 1)
        goto none;
    if (g_iri_types[r[p + 2]] == NULL || r[p + 3] != 0xA2)
        goto none;
    iri_type = Py_NewRef(g_iri_types[r[p + 2]]); /* held: a parse_sip in Python could reconfigure */
    p += 3;
    /* iRIContents [2] > iPMMIRI [11]: each the last element of its parent, ending at e */
    for (i = 0; i < 2; i++) {
        if (p >= e || r[p] != outer[i] || (length = read_len(r, e, &p)) < 0 || p + length != e)
            goto none;
    }
    /* iPMMIRIObjId [0] */
    if (p + 1 >= e || r[p] != 0x80 || r[p + 1] >= 0x80 || p + 2 + r[p + 1] > e)
        goto none;
    length = r[p + 1];
    found = oid_text(r + p + 2, length, 0, &object_id);
    if (found <= 0)
        goto done;
    p += 2 + length;
    /* iPMMIRIContents [1] > sIPMessage [1] */
    for (i = 0; i < 2; i++) {
        if (p >= e || r[p] != inner[i] || (length = read_len(r, e, &p)) < 0 || p + length != e)
            goto none;
    }
    /* ipSourceAddress [0], ipDestinationAddress [1], sIPContent [2] ending at e */
    if (p + 1 >= e || r[p] != 0xA0 || r[p + 1] >= 0x80)
        goto none;
    src_q = p + 2;
    src_e = p = src_q + r[p + 1];
    if (p + 1 >= e || r[p] != 0xA1 || r[p + 1] >= 0x80)
        goto none;
    dst_q = p + 2;
    dst_e = p = dst_q + r[p + 1];
    if (p >= e || r[p] != 0x82 || (length = read_len(r, e, &p)) < 0 || p + length != e)
        goto none;
    if ((found = ip_address(r, src_q, src_e, &source)) <= 0 ||
        (found = ip_address(r, dst_q, dst_e, &destination)) <= 0)
        goto done;

    /* the SIP message, by the caller's parse_sip */
    data = PyBytes_FromStringAndSize((const char *)r + p, e - p);
    if (data == NULL)
        goto fail;
    if (parser == g_iri_sip_parser) {
        parsed = parse_sip_fast(self, data);
        if (parsed == Py_None) {
            Py_DECREF(parsed);
            parsed = PyObject_CallOneArg(g_iri_sip_reference, data);
        }
    } else {
        parsed = PyObject_CallOneArg(parser, data);
    }
    if (parsed == NULL)
        goto fail;
    if (!PyTuple_Check(parsed) || PyTuple_GET_SIZE(parsed) != 2) {
        PyErr_SetString(PyExc_TypeError, "parse_sip must answer a (sip fields, content parts) tuple");
        goto fail;
    }

    /* {"iri": {...}, "sip": sip, "ip": {"src": ..., "dst": ...}} */
    PyObject *src_address = PyDict_GetItemWithError(source, k_address); /* borrowed */
    if (src_address == NULL && PyErr_Occurred())
        goto fail;
    PyObject *dst_address = PyDict_GetItemWithError(destination, k_address);
    if (dst_address == NULL && PyErr_Occurred())
        goto fail;
    iri = PyDict_Copy(t_iri); /* "contents" and "message" are set already */
    ip = PyDict_Copy(t_ip);
    fields = PyDict_Copy(t_fields);
    if (iri == NULL || ip == NULL || fields == NULL || PyDict_SetItem(iri, k_type, iri_type) < 0 ||
        PyDict_SetItem(iri, k_object_id, object_id) < 0 || PyDict_SetItem(iri, k_source_address, source) < 0 ||
        PyDict_SetItem(iri, k_destination_address, destination) < 0 ||
        PyDict_SetItem(ip, k_src, src_address == NULL ? Py_None : src_address) < 0 ||
        PyDict_SetItem(ip, k_dst, dst_address == NULL ? Py_None : dst_address) < 0 ||
        PyDict_SetItem(fields, k_iri, iri) < 0 || PyDict_SetItem(fields, k_sip, PyTuple_GET_ITEM(parsed, 0)) < 0 ||
        PyDict_SetItem(fields, k_ip, ip) < 0)
        goto fail;
    result = PyTuple_Pack(2, fields, PyTuple_GET_ITEM(parsed, 1));
    goto out;

done: /* found: 0 not the usual record, -1 an error */
    if (found < 0)
        goto fail;
none:
    result = Py_NewRef(Py_None);
    goto out;
fail:
    result = NULL;
out:
    Py_XDECREF(iri_type);
    Py_XDECREF(object_id);
    Py_XDECREF(source);
    Py_XDECREF(destination);
    Py_XDECREF(data);
    Py_XDECREF(parsed);
    Py_XDECREF(iri);
    Py_XDECREF(ip);
    Py_XDECREF(fields);
    return result;
}

/* ---- the PSHeader facts of a decoded record ---------------------------------------------
 *
 * header_fields(rec, header): exactly calea.handover.etsi102232_decode._header_fields_py
 * (`fields["header"]` of a record `scan` read as `header`): the same dict, its keys in the
 * same order, the same values (the header's own objects where the reference copies them);
 * None for anything else, which the Python reference then decides (and raises for, where it
 * raises).  C answers when
 *   - rec is bytes and header a tuple of 12 items that iterates as a tuple (PSHeader does);
 *   - li_ps_domain_id: _domain reads it by its first case (li-psDomainId [0] the first
 *     PSHeader element, with a short-form length), inside rec, and decode_oid accepts it;
 *     its text is decode_oid's.  Any other layout (another first element, a long form, a
 *     value running past rec) and any OID decode_oid refuses (empty, a leading 0x80, a
 *     sub-identifier over 9 octets, an unterminated one) go to Python;
 *   - timestamp: None, or an int of microseconds from year 1 to 9999 (iso_us's range; it
 *     raises OverflowError beyond), as iso_us writes it: "YYYY-MM-DDTHH:MM:SS.ffffffZ";
 *   - timestamp_qualifier: None, or an int: its name when the table has a non-empty str for
 *     it, name_of's "unknown(n)" when the table has no entry (and n fits 64 bits); any other
 *     entry goes to Python.
 * The key names and the qualifier table are the Python module's, given to `configure_header`;
 * the table is looked up on every call, as name_of does. */

#define HEADER_KEYS 12
/* Where each value comes from, by position in configure_header's keys (the reference's
 * order): an item of the PSHeader tuple, or one of these. */
enum { FROM_DOMAIN = -1, FROM_STAMP = -2, FROM_STAMP_FIELD = -3, FROM_QUALIFIER = -4 };
static const int g_header_sources[HEADER_KEYS] = {
    FROM_DOMAIN, /* li_ps_domain_id */
    0,           /* liid */
    6,           /* authorization_country_code */
    4,           /* operator_id */
    5,           /* network_element_id */
    3,           /* cin */
    7,           /* delivery_country_code */
    1,           /* sequence */
    8,           /* interception_point_id */
    FROM_STAMP,  /* timestamp: iso_us(timestamp_us [9]) */
    FROM_STAMP_FIELD, /* timestamp_field [10], when there is a stamp */
    FROM_QUALIFIER,   /* timestamp_qualifier: name_of(TIMESTAMP_QUALIFIERS, [11]) */
};
#define STAMP_ITEM 9
#define STAMP_FIELD_ITEM 10
#define QUALIFIER_ITEM 11

static PyObject *g_header_keys[HEADER_KEYS];
static PyObject *t_header;          /* the keys, in order, values None: copied per answer */
static PyObject *g_qualifier_names; /* TIMESTAMP_QUALIFIERS */

/* The last li-psDomainId read and its text (one PS domain per stream, in practice). */
static unsigned char g_domain_key[128];
static Py_ssize_t g_domain_n = -1;
static PyObject *g_domain_text;

static void clear_header_config(void) {
    for (int i = 0; i < HEADER_KEYS; i++)
        Py_CLEAR(g_header_keys[i]);
    Py_CLEAR(t_header);
    Py_CLEAR(g_qualifier_names);
}

static PyObject *configure_header(PyObject *self, PyObject *args) {
    PyObject *keys, *names;
    if (!PyArg_ParseTuple(args, "O!O!:configure_header", &PyTuple_Type, &keys, &PyDict_Type, &names))
        return NULL;
    if (PyTuple_GET_SIZE(keys) != HEADER_KEYS) {
        PyErr_Format(PyExc_ValueError, "configure_header: %d keys, not %zd", HEADER_KEYS, PyTuple_GET_SIZE(keys));
        return NULL;
    }
    PyObject *template = PyDict_New();
    if (template == NULL)
        return NULL;
    for (int i = 0; i < HEADER_KEYS; i++) {
        PyObject *key = PyTuple_GET_ITEM(keys, i);
        if (!PyUnicode_CheckExact(key)) {
            PyErr_SetString(PyExc_TypeError, "configure_header: the keys must be str");
            goto fail;
        }
        if (PyDict_SetItem(template, key, Py_None) < 0)
            goto fail;
    }
    if (PyDict_GET_SIZE(template) != HEADER_KEYS) {
        PyErr_SetString(PyExc_ValueError, "configure_header: the keys must differ");
        goto fail;
    }
    clear_header_config();
    for (int i = 0; i < HEADER_KEYS; i++)
        g_header_keys[i] = Py_NewRef(PyTuple_GET_ITEM(keys, i));
    t_header = template;
    g_qualifier_names = Py_NewRef(names);
    Py_RETURN_NONE;
fail:
    Py_DECREF(template);
    return NULL;
}

/* _domain(rec) by its first case: 1 with *out set, 0 for Python, -1 on error. */
static int header_domain(const unsigned char *r, Py_ssize_t n, PyObject **out) {
    if (n < 2)
        return 0;
    Py_ssize_t p = r[1] < 0x80 ? 2 : 2 + (r[1] & 0x7F); /* pSHeader [1], as _domain hops */
    if (p + 1 >= n)
        return 0;
    Py_ssize_t q = r[p + 1] < 0x80 ? p + 2 : p + 2 + (r[p + 1] & 0x7F); /* its first element */
    if (q + 1 >= n || r[q] != 0x80 || r[q + 1] >= 0x80)
        return 0;
    Py_ssize_t length = r[q + 1];
    const unsigned char *s = r + q + 2;
    if (q + 2 + length > n)
        return 0; /* the reference decodes what the slice keeps */
    if (g_domain_text != NULL && g_domain_n == length && memcmp(g_domain_key, s, (size_t)length) == 0) {
        *out = Py_NewRef(g_domain_text);
        return 1;
    }
    int found = oid_text(s, length, 1, out);
    if (found == 1) {
        Py_XSETREF(g_domain_text, Py_NewRef(*out));
        memcpy(g_domain_key, s, (size_t)length);
        g_domain_n = length;
    }
    return found;
}

static inline char *put2(char *b, int v) {
    b[0] = (char)('0' + v / 10);
    b[1] = (char)('0' + v % 10);
    return b + 2;
}

/* iso_us(stamp) for an int stamp: 1 with *out set, 0 for Python, -1 on error. */
static int iso_text(PyObject *stamp, PyObject **out) {
    if (!PyLong_CheckExact(stamp))
        return 0;
    int overflow = 0;
    long long us = PyLong_AsLongLongAndOverflow(stamp, &overflow);
    if (us == -1 && PyErr_Occurred())
        return -1;
    if (overflow || us < MIN_US || us >= MAX_US)
        return 0; /* years outside 1..9999: iso_us raises */
    int y, m, d, sod, micro;
    utc_parts(us, &y, &m, &d, &sod, &micro);
    char buf[27], *b = buf; /* YYYY-MM-DDTHH:MM:SS.ffffffZ */
    b = put2(b, y / 100);
    b = put2(b, y % 100);
    *b++ = '-';
    b = put2(b, m);
    *b++ = '-';
    b = put2(b, d);
    *b++ = 'T';
    b = put2(b, sod / 3600);
    *b++ = ':';
    b = put2(b, (sod / 60) % 60);
    *b++ = ':';
    b = put2(b, sod % 60);
    *b++ = '.';
    b = put2(b, micro / 10000);
    b = put2(b, (micro / 100) % 100);
    b = put2(b, micro % 100);
    *b++ = 'Z';
    *out = astr(buf, b - buf);
    return *out == NULL ? -1 : 1;
}

/* name_of(TIMESTAMP_QUALIFIERS, qualifier): 1 with *out set, 0 for Python, -1 on error. */
static int qualifier_name(PyObject *qualifier, PyObject **out) {
    if (!PyLong_CheckExact(qualifier))
        return 0;
    PyObject *name = PyDict_GetItemWithError(g_qualifier_names, qualifier); /* borrowed */
    if (name != NULL) {
        if (!PyUnicode_CheckExact(name))
            return 0;
#if PY_VERSION_HEX < 0x030C0000
        if (PyUnicode_READY(name) < 0)
            return -1;
#endif
        if (PyUnicode_GET_LENGTH(name) == 0)
            return 0; /* `or`: "unknown(n)", left to Python */
        *out = Py_NewRef(name);
        return 1;
    }
    if (PyErr_Occurred())
        return -1;
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(qualifier, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow)
        return 0;
    *out = PyUnicode_FromFormat("unknown(%lld)", v);
    return *out == NULL ? -1 : 1;
}

static PyObject *header_fields(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (t_header == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "calea.handover._speedups.configure_header() was not called");
        return NULL;
    }
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "header_fields(rec, header) takes 2 arguments");
        return NULL;
    }
    PyObject *rec = args[0], *h = args[1];
    if (!PyBytes_CheckExact(rec) || !PyTuple_Check(h) || Py_TYPE(h)->tp_iter != PyTuple_Type.tp_iter ||
        PyTuple_GET_SIZE(h) != HEADER_KEYS)
        Py_RETURN_NONE; /* the reference unpacks anything else itself */
    PyObject *domain = NULL, *stamp = NULL, *qualifier = NULL, *out = NULL;
    PyObject *stamp_us = PyTuple_GET_ITEM(h, STAMP_ITEM), *q = PyTuple_GET_ITEM(h, QUALIFIER_ITEM);
    int found = header_domain((const unsigned char *)PyBytes_AS_STRING(rec), PyBytes_GET_SIZE(rec), &domain);
    if (found > 0)
        found = stamp_us == Py_None ? (stamp = Py_NewRef(Py_None), 1) : iso_text(stamp_us, &stamp);
    if (found > 0)
        found = q == Py_None ? (qualifier = Py_NewRef(Py_None), 1) : qualifier_name(q, &qualifier);
    if (found < 0)
        goto fail;
    if (found == 0) {
        out = Py_NewRef(Py_None);
        goto done;
    }
    out = PyDict_Copy(t_header); /* the keys in order: each value below replaces a None */
    if (out == NULL)
        goto fail;
    for (int i = 0; i < HEADER_KEYS; i++) {
        int source = g_header_sources[i];
        PyObject *value = source >= 0                ? PyTuple_GET_ITEM(h, source)
                          : source == FROM_DOMAIN    ? domain
                          : source == FROM_STAMP     ? stamp
                          : source == FROM_QUALIFIER ? qualifier
                          : stamp_us == Py_None      ? Py_None
                                                     : PyTuple_GET_ITEM(h, STAMP_FIELD_ITEM);
        if (value != Py_None && PyDict_SetItem(out, g_header_keys[i], value) < 0)
            goto fail;
    }
    goto done;
fail:
    Py_CLEAR(out);
done:
    Py_XDECREF(domain);
    Py_XDECREF(stamp);
    Py_XDECREF(qualifier);
    return out;
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS,
     "configure(prefixes, parse_prefix, PSHeader, CC, IRI, OTHER, KEEPALIVE, KEEPALIVE_RESPONSE, INTEGRITY_CHECK, "
     "timestamp_field, cache_size)"},
    {"fast_scan", fast_scan, METH_O, "fast_scan(record) -> (PSHeader, payload start, payload end) or None"},
    {"split", split, METH_VARARGS, "split(buffer, pos, max_record_size, outer_tags) -> (records, pos)"},
    {"utc_from_us", utc_from_us, METH_O, "utc_from_us(microseconds) -> aware UTC datetime"},
    {"configure_sip", configure_sip, METH_VARARGS,
     "configure_sip(header_names, sdp_plain, sdp_directions, digit_types, ContentPart, POST_CUT_THROUGH_DIGITS, "
     "MESSAGE_BODY, max_headers)"},
    {"parse_sip", parse_sip_fast, METH_O,
     "parse_sip(data) -> (sip fields, content parts), or None: not the usual message"},
    {"parse_sdp", parse_sdp_fast, METH_O, "parse_sdp(body) -> sdp fields, or None: not the usual body"},
    {"configure_iri", configure_iri, METH_VARARGS,
     "configure_iri(IRI_TYPES, IP_TYPES, IP_ASSIGNMENTS, parse_sip, parse_sip_reference)"},
    {"sip_iri", (PyCFunction)(void (*)(void))sip_iri_fast, METH_FASTCALL,
     "sip_iri(rec, q, e, parse_sip) -> (payload fields, SIP content parts), or None: not the usual SIP IRI"},
    {"configure_header", configure_header, METH_VARARGS, "configure_header(keys, TIMESTAMP_QUALIFIERS)"},
    {"header_fields", (PyCFunction)(void (*)(void))header_fields, METH_FASTCALL,
     "header_fields(rec, header) -> the PSHeader fields of a record, or None: left to the Python reference"},
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
    if (g_empty == NULL || init_sip_keys() < 0 || init_iri_keys() < 0)
        return NULL;
    return PyModule_Create(&module);
}
