/** @file
 * actr/export.h — symbol visibility.  ACTR_API marks the public ABI; every
 * other symbol of the shared library is hidden. */
#ifndef ACTR_EXPORT_H
#define ACTR_EXPORT_H
#if defined(ACTR_BUILDING) && defined(__GNUC__)
#define ACTR_API __attribute__((visibility("default")))
#else
/** ACTR_API: marks a declaration as part of the exported ABI (default
 * visibility while libactr itself is built; nothing for its users). */
#define ACTR_API
#endif
#endif
