/* penproto: the reference codec of docs/protocol.md, version 1. See penproto.h. */
#include "penproto.h"

#include <string.h>

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* ---- section 6: code tables ------------------------------------------------------------- */

static const pp_code message_types[] = {
    {0x01, "HELLO"},     {0x02, "SET_PARAMS"}, {0x03, "START"},     {0x04, "STOP"},
    {0x05, "ESTOP"},     {0x06, "CLEAR_FAULT"}, {0x07, "LEASE"},    {0x08, "GET_STATUS"},
    {0x41, "IDENTIFY"},  {0x42, "CARTRIDGE"},  {0x43, "TELEMETRY"}, {0x44, "EVENT"},
    {0x45, "ACK"},       {0x46, "NAK"},
};
static const pp_code pen_states[] = {
    {0, "BOOTING"}, {1, "IDLE"}, {2, "READY"}, {3, "RUNNING"}, {4, "FAULTED"}, {5, "ESTOPPED"},
};
static const pp_code motor_states[] = {
    {0, "STOPPED"}, {1, "RAMPING_UP"}, {2, "AT_SPEED"}, {3, "RAMPING_DOWN"},
};
static const pp_code cartridge_states[] = {
    {0, "ABSENT"},     {1, "FRESH"},   {2, "IN_USE"},
    {3, "LOCKED_OUT"}, {4, "EXPIRED"}, {5, "UNREADABLE"},
};
static const pp_code fault_codes[] = {
    {0, "NONE"},           {1, "LEASE_EXPIRED"},         {2, "OVER_CURRENT"},
    {3, "OVER_TEMPERATURE"}, {4, "BATTERY_CRITICAL"},    {5, "DEPTH_SENSOR_DISAGREE"},
    {6, "CARTRIDGE_REMOVED"}, {7, "MOTOR_STALL"},        {8, "ESTOP"},
    {255, "INTERNAL"},
};
static const pp_code event_codes[] = {
    {1, "BOOT"},          {2, "BUTTON_STOP"},   {3, "CARTRIDGE_INSERTED"},
    {4, "CARTRIDGE_REMOVED"}, {5, "CARTRIDGE_REATTACHED"}, {6, "FAULT_RAISED"},
    {7, "FAULT_CLEARED"}, {8, "LEASE_EXPIRED"}, {9, "MOTOR_STARTED"},
    {10, "MOTOR_STOPPED"}, {11, "ESTOP_ENGAGED"},
};
static const pp_code stop_reasons[] = {
    {0, "UNSPECIFIED"}, {1, "OPERATOR"},   {2, "AREA_COMPLETE"},     {3, "SESSION_END"},
    {4, "HOST_FAULT"},  {5, "LINK_LOSS"},  {6, "LEASE_EXPIRED"},     {7, "BUTTON"},
    {8, "FAULT"},       {9, "CARTRIDGE_REMOVED"}, {10, "ESTOP"},     {11, "TIME_LIMIT"},
    {12, "HOST_RESET"},
};
static const pp_code nak_reasons[] = {
    {1, "BAD_STATE"},          {2, "DEPTH_OUT_OF_RANGE"}, {3, "SPEED_OUT_OF_RANGE"},
    {4, "OFF_STEP"},           {5, "EXCEEDS_CARTRIDGE"},  {6, "NO_PARAMS"},
    {7, "PARAM_VERSION_MISMATCH"}, {8, "NO_CARTRIDGE"},   {9, "CARTRIDGE_LOCKED_OUT"},
    {10, "CARTRIDGE_EXPIRED"}, {11, "NO_LEASE"},          {12, "FAULT_ACTIVE"},
    {13, "ESTOPPED"},          {14, "WRONG_FAULT"},       {15, "FAULT_CAUSE_PRESENT"},
    {16, "LEASE_OUT_OF_RANGE"}, {17, "VERSION_MISMATCH"}, {18, "UNKNOWN_TYPE"},
    {19, "BAD_PAYLOAD"},       {20, "NOT_IDENTIFIED"},
};

#define TABLE(name, codes) {name, COUNT(codes), codes}
static const pp_table MessageType = TABLE("MessageType", message_types);
static const pp_table PenState = TABLE("PenState", pen_states);
static const pp_table MotorState = TABLE("MotorState", motor_states);
static const pp_table CartridgeState = TABLE("CartridgeState", cartridge_states);
static const pp_table FaultCode = TABLE("FaultCode", fault_codes);
static const pp_table EventCode = TABLE("EventCode", event_codes);
static const pp_table StopReason = TABLE("StopReason", stop_reasons);
static const pp_table NakReason = TABLE("NakReason", nak_reasons);

/* ---- section 4: payload layouts ---------------------------------------------------------- */

#define U8(name, at) {name, at, PP_U8, 1, NULL}
#define U16(name, at) {name, at, PP_U16, 2, NULL}
#define U32(name, at) {name, at, PP_U32, 4, NULL}
#define I16(name, at) {name, at, PP_I16, 2, NULL}
#define TEXT(name, at, width) {name, at, PP_TEXT, width, NULL}
#define ENUM8(name, at, table) {name, at, PP_U8, 1, &table}
#define ENUM16(name, at, table) {name, at, PP_U16, 2, &table}

static const pp_field hello[] = {U8("protocol_version", 0)};
static const pp_field set_params[] = {
    U32("param_version", 0), U16("depth_um", 4), U16("speed_sps", 6)};
static const pp_field start[] = {U32("param_version", 0)};
static const pp_field stop[] = {ENUM8("reason", 0, StopReason)};
static const pp_field clear_fault[] = {ENUM16("fault", 0, FaultCode)};
static const pp_field lease[] = {U16("lease_ms", 0)};
static const pp_field identify[] = {
    U8("protocol_version", 0),   U8("firmware_major", 1),       U8("firmware_minor", 2),
    U8("firmware_patch", 3),     TEXT("serial_number", 4, 16),  TEXT("model", 20, 16),
    U16("depth_min_um", 36),     U16("depth_max_um", 38),       U16("depth_step_um", 40),
    U16("speed_min_sps", 42),    U16("speed_max_sps", 44),      U16("speed_step_sps", 46),
    U16("lease_min_ms", 48),     U16("lease_max_ms", 50),       U16("telemetry_period_ms", 52),
    ENUM8("cartridge_state", 54, CartridgeState)};
static const pp_field cartridge[] = {
    ENUM8("state", 0, CartridgeState), TEXT("serial", 1, 16), TEXT("lot", 17, 12),
    U8("needle_count", 29), U16("needle_length_um", 30), U32("expiry_yyyymmdd", 32)};
static const pp_field telemetry[] = {
    U32("counter", 0),          ENUM8("pen_state", 4, PenState),
    ENUM8("motor_state", 5, MotorState), U16("depth_um", 6),
    U16("speed_sps", 8),        U16("motor_current_ma", 10),
    I16("temperature_cdeg", 12), U16("battery_mv", 14),
    U8("battery_pct", 16),      ENUM8("cartridge_state", 17, CartridgeState),
    ENUM16("active_fault", 18, FaultCode), U16("lease_remaining_ms", 20),
    U32("param_version", 22)};
static const pp_field event[] = {
    U16("event_counter", 0), ENUM8("event", 2, EventCode), U16("detail", 3)};
static const pp_field ack[] = {
    U16("ack_seq", 0),       ENUM8("ack_type", 2, MessageType), ENUM8("pen_state", 3, PenState),
    U32("param_version", 4), U16("depth_um", 8),                U16("speed_sps", 10),
    U16("params_crc", 12),   U16("lease_remaining_ms", 14)};
static const pp_field nak[] = {
    U16("nak_seq", 0), U8("nak_type", 2), ENUM8("reason", 3, NakReason), U16("detail", 4)};

#define LAYOUT(type, name, size, fields) {type, name, size, COUNT(fields), fields}
static const pp_layout layouts[] = {
    LAYOUT(0x01, "HELLO", 1, hello),
    LAYOUT(0x02, "SET_PARAMS", 8, set_params),
    LAYOUT(0x03, "START", 4, start),
    LAYOUT(0x04, "STOP", 1, stop),
    LAYOUT(0x05, "ESTOP", 1, stop),
    LAYOUT(0x06, "CLEAR_FAULT", 2, clear_fault),
    LAYOUT(0x07, "LEASE", 2, lease),
    {0x08, "GET_STATUS", 0, 0, NULL},
    LAYOUT(0x41, "IDENTIFY", 55, identify),
    LAYOUT(0x42, "CARTRIDGE", 36, cartridge),
    LAYOUT(0x43, "TELEMETRY", 26, telemetry),
    LAYOUT(0x44, "EVENT", 5, event),
    LAYOUT(0x45, "ACK", 16, ack),
    LAYOUT(0x46, "NAK", 6, nak),
};

const pp_layout *pp_layout_for(uint8_t type) {
    size_t i;
    for (i = 0; i < COUNT(layouts); i++) {
        if (layouts[i].type == type) return &layouts[i];
    }
    return NULL;
}

const pp_layout *pp_layout_named(const char *name) {
    size_t i;
    for (i = 0; i < COUNT(layouts); i++) {
        if (strcmp(layouts[i].name, name) == 0) return &layouts[i];
    }
    return NULL;
}

int pp_field_index(const pp_layout *layout, const char *name) {
    int i;
    for (i = 0; i < layout->field_count; i++) {
        if (strcmp(layout->fields[i].name, name) == 0) return i;
    }
    return -1;
}

const char *pp_error_name(pp_error error) {
    static const char *const names[] = {"ok",      "oversize",      "truncated",    "bad_length",
                                        "bad_crc", "wrong_version", "unknown_type", "bad_field"};
    return (size_t)error < COUNT(names) ? names[error] : "?";
}

/* ---- section 2: CRC and COBS ---------------------------------------------------------------- */

uint16_t pp_crc16(const uint8_t *data, size_t length) {
    uint16_t crc = 0xFFFFu; /* CRC-16/IBM-3740: poly 0x1021, init 0xFFFF, no reflection */
    size_t i;
    int bit;
    for (i = 0; i < length; i++) {
        crc ^= (uint16_t)(data[i] << 8);
        for (bit = 0; bit < 8; bit++) {
            crc = (crc & 0x8000u) ? (uint16_t)((crc << 1) ^ 0x1021u) : (uint16_t)(crc << 1);
        }
    }
    return crc;
}

static void put_le(uint8_t *at, uint32_t value, unsigned width) {
    unsigned i;
    for (i = 0; i < width; i++) at[i] = (uint8_t)(value >> (8u * i));
}

static uint32_t get_le(const uint8_t *at, unsigned width) {
    uint32_t value = 0;
    unsigned i;
    for (i = 0; i < width; i++) value |= (uint32_t)at[i] << (8u * i);
    return value;
}

uint16_t pp_params_crc(uint32_t param_version, uint16_t depth_um, uint16_t speed_sps) {
    uint8_t bytes[8];
    put_le(bytes, param_version, 4);
    put_le(bytes + 4, depth_um, 2);
    put_le(bytes + 6, speed_sps, 2);
    return pp_crc16(bytes, sizeof bytes);
}

size_t pp_cobs_encode(const uint8_t *in, size_t length, uint8_t *out) {
    size_t read = 0, write = 1, code_at = 0;
    uint8_t code = 1;
    while (read < length) {
        if (in[read] == 0) {
            out[code_at] = code;
            code = 1;
            code_at = write++;
        } else {
            out[write++] = in[read];
            code++;
            if (code == 0xFF) {
                out[code_at] = code;
                code = 1;
                if (read + 1 == length) return write; /* canonical: no code after a full run */
                code_at = write++;
            }
        }
        read++;
    }
    out[code_at] = code;
    return write;
}

int pp_cobs_decode(const uint8_t *in, size_t length, uint8_t *out, size_t *out_length) {
    size_t read = 0, write = 0;
    while (read < length) {
        uint8_t code = in[read];
        size_t end = read + code;
        if (code == 0 || end > length) return -1;
        for (read++; read < end; read++) out[write++] = in[read];
        if (code != 0xFF && read < length) out[write++] = 0;
    }
    *out_length = write;
    return 0;
}

/* ---- section 4: fields ------------------------------------------------------------------ */

static int in_table(const pp_table *table, uint32_t value) {
    size_t i;
    for (i = 0; i < table->count; i++) {
        if (table->codes[i].value == value) return 1;
    }
    return 0;
}

static int printable(uint8_t byte) { return byte >= 0x20u && byte <= 0x7Eu; }

/* Section 2: printable ASCII, then only 0x00 padding. Copies the text to `out`. */
static int read_text(const uint8_t *at, unsigned width, char *out) {
    unsigned i, used = 0;
    while (used < width && at[used] != 0) {
        if (!printable(at[used])) return 0;
        out[used] = (char)at[used];
        used++;
    }
    out[used] = '\0';
    for (i = used; i < width; i++) {
        if (at[i] != 0) return 0;
    }
    return 1;
}

static int read_payload(const pp_layout *layout, const uint8_t *payload, pp_message *message) {
    int i;
    for (i = 0; i < layout->field_count; i++) {
        const pp_field *field = &layout->fields[i];
        const uint8_t *at = payload + field->offset;
        message->text[i][0] = '\0';
        message->value[i] = 0;
        if (field->kind == PP_TEXT) {
            if (!read_text(at, field->width, message->text[i])) return 0;
            continue;
        }
        message->value[i] = get_le(at, field->width);
        if (field->table != NULL && !in_table(field->table, message->value[i])) return 0;
    }
    return 1;
}

static int fits(const pp_field *field, uint32_t value) {
    switch (field->kind) {
        case PP_U8: return value <= 0xFFu;
        case PP_U16: return value <= 0xFFFFu;
        case PP_I16: return value <= 0x7FFFu || value >= 0xFFFF8000u;
        default: return 1;
    }
}

static int write_payload(const pp_layout *layout, const pp_message *message, uint8_t *payload) {
    int i;
    for (i = 0; i < layout->field_count; i++) {
        const pp_field *field = &layout->fields[i];
        uint8_t *at = payload + field->offset;
        if (field->kind == PP_TEXT) {
            size_t used = strlen(message->text[i]), k;
            if (used > field->width) return 0;
            memset(at, 0, field->width);
            for (k = 0; k < used; k++) {
                if (!printable((uint8_t)message->text[i][k])) return 0;
                at[k] = (uint8_t)message->text[i][k];
            }
            continue;
        }
        if (!fits(field, message->value[i])) return 0;
        if (field->table != NULL && !in_table(field->table, message->value[i])) return 0;
        put_le(at, message->value[i], field->width);
    }
    return 1;
}

/* ---- frames ------------------------------------------------------------------------------ */

size_t pp_encode(const pp_message *message, uint8_t *out) {
    uint8_t body[PP_MAX_FRAME];
    const pp_layout *layout = pp_layout_for(message->type);
    size_t length;
    uint16_t crc;
    if (layout == NULL || (message->flags & ~PP_FLAG_RETRANSMIT) != 0) return 0;
    body[0] = PP_VERSION;
    body[1] = message->type;
    body[2] = message->flags;
    put_le(body + 3, message->seq, 2);
    body[5] = layout->size;
    if (!write_payload(layout, message, body + PP_HEADER_SIZE)) return 0;
    length = PP_HEADER_SIZE + layout->size;
    crc = pp_crc16(body, length);
    put_le(body + length, crc, 2);
    length = pp_cobs_encode(body, length + PP_CRC_SIZE, out);
    out[length] = 0x00;
    return length + 1;
}

/* The checks of section 2.1, in its order; the first that fails names the error. */
static pp_error check_frame(const uint8_t *frame, size_t length, pp_result *result) {
    uint8_t body[PP_MAX_ENCODED];
    size_t size, expected;
    const pp_layout *layout;
    if (length > PP_MAX_ENCODED) return PP_OVERSIZE;                         /* check 1 */
    if (pp_cobs_decode(frame, length, body, &size) != 0) return PP_TRUNCATED; /* check 2 */
    if (size < PP_HEADER_SIZE + PP_CRC_SIZE) return PP_TRUNCATED;            /* check 3 */
    expected = PP_HEADER_SIZE + (size_t)body[5] + PP_CRC_SIZE;
    if (size < expected) return PP_TRUNCATED;                                /* check 4 */
    if (size > expected) return PP_BAD_LENGTH;                               /* check 5 */
    if (pp_crc16(body, size - PP_CRC_SIZE) != get_le(body + size - PP_CRC_SIZE, 2)) {
        return PP_BAD_CRC;                                                   /* check 6 */
    }
    result->header_known = 1;
    result->type = body[1];
    result->seq = (uint16_t)get_le(body + 3, 2);
    if (body[0] != PP_VERSION) return PP_WRONG_VERSION;                      /* check 7 */
    layout = pp_layout_for(body[1]);
    if (layout == NULL) return PP_UNKNOWN_TYPE;                              /* check 8 */
    if ((body[2] & ~PP_FLAG_RETRANSMIT) != 0 || body[5] != layout->size ||
        !read_payload(layout, body + PP_HEADER_SIZE, &result->message)) {
        return PP_BAD_FIELD;                                                 /* check 9 */
    }
    result->message.type = body[1];
    result->message.flags = body[2];
    result->message.seq = result->seq;
    return PP_OK;
}

void pp_decode(const uint8_t *frame, size_t length, pp_result *result) {
    memset(result, 0, sizeof *result);
    result->error = check_frame(frame, length, result);
}

void pp_receiver_init(pp_receiver *receiver) {
    receiver->used = 0;
    receiver->discarding = 0;
}

int pp_receiver_feed(pp_receiver *receiver, uint8_t byte, pp_result *result) {
    if (byte == 0x00) {
        size_t used = receiver->used;
        int was_discarding = receiver->discarding;
        receiver->used = 0;
        receiver->discarding = 0;
        if (was_discarding || used == 0) return 0; /* end of a discard, or an empty frame */
        pp_decode(receiver->buffer, used, result);
        return 1;
    }
    if (receiver->discarding) return 0;
    if (receiver->used == PP_MAX_ENCODED) { /* the 250th byte without a delimiter: check 1 */
        receiver->used = 0;
        receiver->discarding = 1;
        memset(result, 0, sizeof *result);
        result->error = PP_OVERSIZE;
        return 1;
    }
    receiver->buffer[receiver->used++] = byte;
    return 0;
}
