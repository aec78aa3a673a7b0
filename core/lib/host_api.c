/* core/lib/host_api.c — the default host API table handed to plugins
 * (pictor/plugins.h): logging to stderr, malloc, weights through core's
 * reader (host_weights.c), and the default plugin folder. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host_weights.h"
#include "pictor/plugins.h"

static int log_threshold = PICTOR_LOG_WARN;

void pictor_host_set_log_level(int level)
{
    log_threshold = level;
}

static void host_log(int level, const char *plugin, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if (level > log_threshold)
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "pictor %s [%s] %s\n",
            level >= 0 && level <= PICTOR_LOG_DEBUG ? names[level] : "log",
            plugin ? plugin : "-", line);
}

static void *host_alloc(size_t n)
{
    return malloc(n ? n : 1);
}

static void host_free(void *p)
{
    free(p);
}

static const struct pictor_host_api default_host = {
    .struct_size = sizeof(struct pictor_host_api),
    .abi_major = PICTOR_ABI_MAJOR,
    .abi_minor = PICTOR_ABI_MINOR,
    .log = host_log,
    .alloc = host_alloc,
    .free = host_free,
    .weights_open = pictor_host_weights_open,
    .weights_close = pictor_host_weights_close,
    .weights_count = pictor_host_weights_count,
    .weights_name = pictor_host_weights_name,
    .weights_peek = pictor_host_weights_peek,
};

const struct pictor_host_api *pictor_default_host_api(void)
{
    return &default_host;
}

int pictor_default_plugin_dir(char *buf, size_t len)
{
    const char *env = getenv("PICTOR_PLUGIN_DIR");
    if (env && *env) {
        snprintf(buf, len, "%s", env);
        return PICTOR_OK;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return PICTOR_E_IO;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return PICTOR_E_IO;
    *slash = '\0';
    snprintf(buf, len, "%s/../lib/pictor/plugins", exe);
    return PICTOR_OK;
}
