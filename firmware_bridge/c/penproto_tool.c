/*
 * penproto_tool: the reference codec on the command line, one request a line on stdin.
 *
 *   D <hex bytes>                      decode (any chunking; frames end at 00); prints per frame
 *                                      "OK <seq> <flags> <TYPE> field=value ..." or "ERR <error>"
 *   E <TYPE> <seq> <flags> field=value encode; prints "F <hex frame with its 00>" or "ERR encode"
 *   C <hex bytes>                      prints "CRC <hex>", the CRC-16/IBM-3740 of the bytes
 *
 * Enumerated fields print and parse by name (a number is accepted too); text fields are written
 * x<hex of the text>, so spaces and quotes need no escaping.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "penproto.h"

#define LINE_MAX_BYTES 4096

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static size_t from_hex(const char *text, uint8_t *out, size_t room) {
    size_t n = 0;
    while (text[0] && text[1] && n < room) {
        int high = hex_value(text[0]), low = hex_value(text[1]);
        if (high < 0 || low < 0) break;
        out[n++] = (uint8_t)(high * 16 + low);
        text += 2;
    }
    return n;
}

static void print_hex(const uint8_t *bytes, size_t length) {
    size_t i;
    for (i = 0; i < length; i++) printf("%02x", bytes[i]);
}

static void print_message(const pp_message *message) {
    const pp_layout *layout = pp_layout_for(message->type);
    int i;
    printf("OK %u %u %s", (unsigned)message->seq, (unsigned)message->flags, layout->name);
    for (i = 0; i < layout->field_count; i++) {
        const pp_field *field = &layout->fields[i];
        uint32_t value = message->value[i];
        printf(" %s=", field->name);
        if (field->kind == PP_TEXT) {
            putchar('x');
            print_hex((const uint8_t *)message->text[i], strlen(message->text[i]));
        } else if (field->table != NULL) {
            size_t k;
            for (k = 0; k < field->table->count; k++) {
                if (field->table->codes[k].value == value) printf("%s", field->table->codes[k].name);
            }
        } else if (field->kind == PP_I16) {
            printf("%d", (int)(int16_t)(uint16_t)value);
        } else {
            printf("%lu", (unsigned long)value);
        }
    }
    putchar('\n');
}

static void decode_line(const char *hex) {
    static uint8_t bytes[LINE_MAX_BYTES];
    size_t length = from_hex(hex, bytes, sizeof bytes), i;
    pp_receiver receiver;
    pp_result result;
    pp_receiver_init(&receiver);
    for (i = 0; i < length; i++) {
        if (!pp_receiver_feed(&receiver, bytes[i], &result)) continue;
        if (result.error == PP_OK) {
            print_message(&result.message);
        } else {
            printf("ERR %s\n", pp_error_name(result.error));
        }
    }
    printf("END\n");
}

static int parse_value(const pp_field *field, const char *text, pp_message *message, int index) {
    if (field->kind == PP_TEXT) {
        uint8_t bytes[PP_MAX_TEXT + 1];
        size_t n;
        if (text[0] != 'x') return 0;
        n = from_hex(text + 1, bytes, PP_MAX_TEXT);
        memcpy(message->text[index], bytes, n);
        message->text[index][n] = '\0';
        return 1;
    }
    if (field->table != NULL) {
        size_t k;
        for (k = 0; k < field->table->count; k++) {
            if (strcmp(field->table->codes[k].name, text) == 0) {
                message->value[index] = field->table->codes[k].value;
                return 1;
            }
        }
    }
    message->value[index] = (uint32_t)strtol(text, NULL, 0);
    return 1;
}

static void encode_line(char *rest) {
    pp_message message;
    uint8_t frame[PP_MAX_WIRE];
    const pp_layout *layout;
    char *word = strtok(rest, " ");
    char *seq, *flags;
    size_t length;
    memset(&message, 0, sizeof message);
    layout = word ? pp_layout_named(word) : NULL;
    if (layout == NULL) {
        printf("ERR encode\n");
        return;
    }
    message.type = layout->type;
    seq = strtok(NULL, " ");
    flags = strtok(NULL, " ");
    if (seq == NULL || flags == NULL) {
        printf("ERR encode\n");
        return;
    }
    message.seq = (uint16_t)strtoul(seq, NULL, 0);
    message.flags = (uint8_t)strtoul(flags, NULL, 0);
    while ((word = strtok(NULL, " ")) != NULL) {
        char *equals = strchr(word, '=');
        int index;
        if (equals == NULL) continue;
        *equals = '\0';
        index = pp_field_index(layout, word);
        if (index < 0 || !parse_value(&layout->fields[index], equals + 1, &message, index)) {
            printf("ERR encode\n");
            return;
        }
    }
    length = pp_encode(&message, frame);
    if (length == 0) {
        printf("ERR encode\n");
        return;
    }
    printf("F ");
    print_hex(frame, length);
    putchar('\n');
}

int main(void) {
    static char line[LINE_MAX_BYTES * 2 + 16];
    while (fgets(line, sizeof line, stdin) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == 'D' && line[1] == ' ') {
            decode_line(line + 2);
        } else if (line[0] == 'E' && line[1] == ' ') {
            encode_line(line + 2);
        } else if (line[0] == 'C' && line[1] == ' ') {
            static uint8_t bytes[LINE_MAX_BYTES];
            size_t length = from_hex(line + 2, bytes, sizeof bytes);
            printf("CRC %04x\n", (unsigned)pp_crc16(bytes, length));
        } else if (line[0] != '\0') {
            printf("ERR request\n");
        }
        fflush(stdout);
    }
    return 0;
}
