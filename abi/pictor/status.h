/*
 * pictor/status.h — status codes returned by every action across the ABI,
 * the kernel library and the host.
 *
 * Actions return int: PICTOR_OK (0) or a negative pictor_status. Predicates
 * return bool. The human-readable message travels separately (a caller
 * buffer or the backend's error slot), never encoded in the code.
 */
#ifndef PICTOR_STATUS_H
#define PICTOR_STATUS_H

enum pictor_status {
    PICTOR_OK = 0,
    PICTOR_E_INVALID = -1,     /* bad argument, shape or dtype */
    PICTOR_E_UNSUPPORTED = -2, /* valid request this backend/plugin lacks */
    PICTOR_E_NOMEM = -3,       /* host or device allocation failed */
    PICTOR_E_IO = -4,          /* file could not be opened/read/mapped */
    PICTOR_E_FORMAT = -5,      /* file content malformed */
    PICTOR_E_DEVICE = -6,      /* GPU/driver/library failure */
    PICTOR_E_CANCELLED = -7,   /* the job was cancelled */
    PICTOR_E_NOT_FOUND = -8,   /* named thing (tensor, file, model) absent */
    PICTOR_STATUS_COUNT = 9
};

/* Short constant name of a status ("invalid", "nomem", ...). */
static inline const char *pictor_status_name(int status)
{
    switch (status) {
    case PICTOR_OK: return "ok";
    case PICTOR_E_INVALID: return "invalid";
    case PICTOR_E_UNSUPPORTED: return "unsupported";
    case PICTOR_E_NOMEM: return "nomem";
    case PICTOR_E_IO: return "io";
    case PICTOR_E_FORMAT: return "format";
    case PICTOR_E_DEVICE: return "device";
    case PICTOR_E_CANCELLED: return "cancelled";
    case PICTOR_E_NOT_FOUND: return "not_found";
    default: return "unknown";
    }
}

#endif /* PICTOR_STATUS_H */
