/*
 * penproto: a reference codec for the pen link protocol, version 1 (docs/protocol.md).
 *
 * Plain C99, no allocation, no globals that change: COBS, CRC-16/IBM-3740, the 6-byte header,
 * every payload layout of section 4 and the receive checks of section 2.1, in their order.
 * A firmware team can start from it; penctl's tests build it with -Wall -Wextra -Werror and
 * check it against every golden vector of docs/protocol-vectors.json, both ways.
 *
 * Messages are table-driven: pp_layout_for(type) gives the fields of a type (offset, kind,
 * width, the code table an enumerated field must match), and pp_message holds one message's
 * values in field order, so one encoder and one decoder serve every type.
 */
#ifndef PENPROTO_H
#define PENPROTO_H

#include <stddef.h>
#include <stdint.h>

#define PP_VERSION 1u
#define PP_HEADER_SIZE 6u
#define PP_CRC_SIZE 2u
#define PP_MAX_PAYLOAD 240u
#define PP_MAX_FRAME (PP_HEADER_SIZE + PP_MAX_PAYLOAD + PP_CRC_SIZE) /* 248, before COBS */
#define PP_MAX_ENCODED (PP_MAX_FRAME + 1u)                            /* 249, before 0x00 */
#define PP_MAX_WIRE (PP_MAX_ENCODED + 1u)                             /* 250, with 0x00 */
#define PP_FLAG_RETRANSMIT 0x01u
#define PP_MAX_FIELDS 16u
#define PP_MAX_TEXT 16u

/* The error names of section 2.1, in the order the checks run. */
typedef enum {
    PP_OK = 0,
    PP_OVERSIZE,
    PP_TRUNCATED,
    PP_BAD_LENGTH,
    PP_BAD_CRC,
    PP_WRONG_VERSION,
    PP_UNKNOWN_TYPE,
    PP_BAD_FIELD
} pp_error;

typedef enum { PP_U8, PP_U16, PP_U32, PP_I16, PP_TEXT } pp_kind;

typedef struct {
    uint32_t value;
    const char *name;
} pp_code;

typedef struct {
    const char *name; /* StopReason, FaultCode, ... (section 6) */
    size_t count;
    const pp_code *codes;
} pp_table;

typedef struct {
    const char *name;
    uint8_t offset;
    pp_kind kind;
    uint8_t width;         /* bytes on the wire */
    const pp_table *table; /* non-NULL: an enumerated field (section 4) */
} pp_field;

typedef struct {
    uint8_t type;
    const char *name;
    uint8_t size; /* the payload's size in bytes */
    uint8_t field_count;
    const pp_field *fields;
} pp_layout;

typedef struct {
    uint8_t type;
    uint8_t flags;
    uint16_t seq;
    uint32_t value[PP_MAX_FIELDS];              /* integers in field order; an i16 as two's complement */
    char text[PP_MAX_FIELDS][PP_MAX_TEXT + 1u]; /* text fields in field order, NUL-terminated */
} pp_message;

/* A decode result: `error` PP_OK with `message` set, or an error. From PP_WRONG_VERSION on the
 * CRC vouched for the header, so `seq` and `type` are known (`header_known` is 1): a pen answers
 * those with a NAK (section 5.4). */
typedef struct {
    pp_error error;
    int header_known;
    uint16_t seq;
    uint8_t type;
    pp_message message;
} pp_result;

/* Streaming receiver: feed it bytes in any chunks (section 2.1, check 1). */
typedef struct {
    uint8_t buffer[PP_MAX_ENCODED];
    size_t used;
    int discarding;
} pp_receiver;

uint16_t pp_crc16(const uint8_t *data, size_t length);
uint16_t pp_params_crc(uint32_t param_version, uint16_t depth_um, uint16_t speed_sps);

/* COBS, canonical form. Encode writes at most length + length / 254 + 1 bytes. Decode returns 0,
 * or -1 when a code byte points past the end (or is 0x00). */
size_t pp_cobs_encode(const uint8_t *in, size_t length, uint8_t *out);
int pp_cobs_decode(const uint8_t *in, size_t length, uint8_t *out, size_t *out_length);

const pp_layout *pp_layout_for(uint8_t type); /* NULL for a type section 6 does not list */
const pp_layout *pp_layout_named(const char *name);
const char *pp_error_name(pp_error error);
int pp_field_index(const pp_layout *layout, const char *name); /* -1 when absent */

/* Encodes `message` into `out` (at least PP_MAX_WIRE bytes), delimiter included; returns the
 * length, or 0 when a value does not fit its field or a text is not printable ASCII. */
size_t pp_encode(const pp_message *message, uint8_t *out);

/* Decodes one frame given without its 0x00 delimiter. */
void pp_decode(const uint8_t *frame, size_t length, pp_result *result);

void pp_receiver_init(pp_receiver *receiver);
/* Feeds one byte; returns 1 when `result` holds a frame or an error to report, else 0.
 * An empty frame (0x00 right after 0x00) reports nothing. */
int pp_receiver_feed(pp_receiver *receiver, uint8_t byte, pp_result *result);

#endif
