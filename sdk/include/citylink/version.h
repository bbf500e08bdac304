/*
 * citylink/version.h — the SDK release and the deprecation macro. C99, no C++ required.
 *
 * SDK version and ABI version
 * ---------------------------
 * SDK x.y.z ships the headers of ABI x.y: the SDK major is the ABI major, the SDK minor
 * is the newest ABI minor the headers describe, the patch counts fixes that change no
 * declaration. That is why a loader message can say "rebuild against SDK 1.0" and mean
 * "the headers of ABI 1.0". (abi.h checks the first two numbers at compile time.)
 *
 * Deprecation policy
 * ------------------
 * A declaration that is going away is first marked CITYLINK_DEPRECATED("use X instead")
 * for at least one SDK minor release, so vendors see a compiler warning naming the
 * replacement while their source still builds. It is removed only at the next SDK major.
 * Nothing in the binary ABI is ever deprecated this way: a slot or field stays forever
 * within a major (see abi.h "Evolution rules"); only source-level helpers (plugin.hpp,
 * convenience macros) are. Define CITYLINK_NO_DEPRECATION_WARNINGS to silence the
 * warnings while migrating.
 */
#ifndef CITYLINK_VERSION_H
#define CITYLINK_VERSION_H

#define CITYLINK_SDK_VERSION_MAJOR 1
#define CITYLINK_SDK_VERSION_MINOR 1
#define CITYLINK_SDK_VERSION_PATCH 0

/* One number for `#if` tests: 10203 is 1.2.3. */
#define CITYLINK_SDK_VERSION \
  (CITYLINK_SDK_VERSION_MAJOR * 10000 + CITYLINK_SDK_VERSION_MINOR * 100 + CITYLINK_SDK_VERSION_PATCH)
#define CITYLINK_SDK_VERSION_STRING "1.1.0"

/* Marks a declaration deprecated with a message that names the replacement. */
#if defined(CITYLINK_NO_DEPRECATION_WARNINGS)
#define CITYLINK_DEPRECATED(msg)
#elif defined(__cplusplus) && __cplusplus >= 201402L
#define CITYLINK_DEPRECATED(msg) [[deprecated(msg)]]
#elif defined(__GNUC__) || defined(__clang__)
#define CITYLINK_DEPRECATED(msg) __attribute__((deprecated(msg)))
#elif defined(_MSC_VER)
#define CITYLINK_DEPRECATED(msg) __declspec(deprecated(msg))
#else
#define CITYLINK_DEPRECATED(msg)
#endif

#endif /* CITYLINK_VERSION_H */
