/* util.c — small things the WebRTC files share: the count of live objects
 * (tests wait on it), the wake-up source, state names, config defaults. */
#include <string.h>

#include "rtc_internal.h"

/* ---- live objects ---- */

static GMutex live_mu;
static GCond live_cond;
static int live;

void actr__rtc_live_add(int delta) {
  g_mutex_lock(&live_mu);
  live += delta;
  if (live == 0)
    g_cond_broadcast(&live_cond);
  g_mutex_unlock(&live_mu);
}

int actr__rtc_live_objects(void) {
  g_mutex_lock(&live_mu);
  int n = live;
  g_mutex_unlock(&live_mu);
  return n;
}

bool actr__rtc_wait_idle(int timeout_ms) {
  gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  g_mutex_lock(&live_mu);
  while (live > 0)
    if (!g_cond_wait_until(&live_cond, &live_mu, end))
      break;
  bool idle = live == 0;
  g_mutex_unlock(&live_mu);
  return idle;
}

/* ---- wake-up source ---- */

typedef struct wake_source {
  GSource src;
  void (*fn)(void *);
  void *data;
} wake_source_t;

static gboolean wake_dispatch(GSource *src, GSourceFunc cb, gpointer ud) {
  wake_source_t *w = (wake_source_t *)src;
  g_source_set_ready_time(src, -1);
  w->fn(w->data);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs wake_funcs = {NULL, NULL, wake_dispatch, NULL, NULL, NULL};

GSource *actr__wake_source_new(GMainContext *ctx, void (*fn)(void *data), void *data) {
  GSource *src = g_source_new(&wake_funcs, sizeof(wake_source_t));
  wake_source_t *w = (wake_source_t *)src;
  w->fn = fn;
  w->data = data;
  g_source_set_ready_time(src, -1);
  g_source_attach(src, ctx);
  return src;
}

void actr__wake(GSource *src) { g_source_set_ready_time(src, 0); }

/* ---- names and defaults ---- */

const char *actr_webrtc_pc_state_name(actr_webrtc_pc_state_t s) {
  static const char *const names[] = {"new",          "connecting", "connected",
                                      "disconnected", "failed",     "closed"};
  return (unsigned)s < G_N_ELEMENTS(names) ? names[s] : "unknown";
}

const char *actr_webrtc_dc_state_name(actr_webrtc_dc_state_t s) {
  static const char *const names[] = {"connecting", "open", "closing", "closed"};
  return (unsigned)s < G_N_ELEMENTS(names) ? names[s] : "unknown";
}

void actr_webrtc_config_init(actr_webrtc_config_t *cfg) {
  if (cfg)
    memset(cfg, 0, sizeof *cfg);
}
