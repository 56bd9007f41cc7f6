/*
 * notify.h - the service manager's notification protocol (sd_notify(3)),
 * hand-written: one datagram to $NOTIFY_SOCKET per state change, so corral
 * needs no libsystemd. Outside systemd (no NOTIFY_SOCKET) every call does
 * nothing.
 *
 *   cr_notify("READY=1\nSTATUS=consuming logs")   after start
 *   cr_notify_reloading() ... cr_notify("READY=1") around a rules reload
 *   cr_notify("STOPPING=1")                        on the way out
 *   cr_notify_watchdog_usec()                      WATCHDOG_USEC for this pid, or 0
 *
 * Threading: any thread (one socket per call).
 */
#ifndef CR_NOTIFY_H
#define CR_NOTIFY_H

#include <stdint.h>

/* Send state (newline-separated assignments). Returns 1 sent, 0 not under
 * a service manager, -1 on a send error. */
int cr_notify(const char *state);
/* RELOADING=1 with MONOTONIC_USEC, as systemd asks of a reload. */
int cr_notify_reloading(void);
/* The watchdog interval systemd set for this process (WATCHDOG_USEC, and
 * WATCHDOG_PID naming us or absent), or 0. */
uint64_t cr_notify_watchdog_usec(void);

#endif
