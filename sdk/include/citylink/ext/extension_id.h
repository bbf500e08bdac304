/*
 * citylink/ext/extension_id.h — the grammar of extension and factory ids. C99, header-only.
 *
 *   id   = name "/" rev
 *   name = segment *("." segment)      segment = 1*[a-z0-9_-]
 *   rev  = [1-9] *[0-9]                 (at most 9 digits, so it fits any int32)
 *   at most 255 bytes in all
 *
 * Examples: "citylink.timer/1", "kr.vendor.feature/2", and a draft, whose last name
 * segment is "draft": "citylink.timer.draft/1". A draft id is an ordinary id with its
 * own meaning; when the extension is final it gets the id without ".draft", and the draft
 * id is never reused for something else.
 *
 * Why a checked grammar: the id is the whole compatibility contract of an extension
 * (the revision is in it, never in the struct), so a typo must be caught by `verify` and
 * the loader, not discovered as a silent NULL at run time. Ids beginning with
 * "citylink." belong to CityLink; vendors use their own reverse-DNS prefix.
 *
 * The rule for every extension struct (host or instance extension, factory): it holds
 * function pointers only. No data pointers into the other side's memory, no struct_size:
 * a function table can be forwarded to a plugin running in a worker process, a pointer
 * into memory cannot; and a new function means a new revision ("/2"), never a longer
 * struct. Every function takes the extension's owner (host table, instance or factory)
 * as its first argument.
 */
#ifndef CITYLINK_EXT_EXTENSION_ID_H
#define CITYLINK_EXT_EXTENSION_ID_H

#include <citylink/topics.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CITYLINK_EXTENSION_ID_MAX 255

/* 1 when `id` (NUL-terminated) follows the grammar above, 0 otherwise (also for NULL). [any-thread] */
static inline int citylink_extension_id_is_valid(const char *id) {
  size_t slash = 0, i, digits = 0;
  if (id == NULL) return 0;
  while (slash < CITYLINK_EXTENSION_ID_MAX && id[slash] != '/' && id[slash] != '\0') ++slash;
  /* The name has the topic grammar: dotted lower-case segments (one implementation). */
  if (id[slash] != '/' || !citylink_topic_is_valid(id, slash)) return 0;
  for (i = slash + 1; id[i] != '\0'; ++i, ++digits) {
    if (i >= CITYLINK_EXTENSION_ID_MAX || digits >= 9) return 0;
    if (id[i] < '0' || id[i] > '9' || (digits == 0 && id[i] == '0')) return 0;
  }
  return digits > 0;
}

#ifdef __cplusplus
}
#endif

#endif /* CITYLINK_EXT_EXTENSION_ID_H */
