/* core/server/peer.c — finding a request's socket and noticing that its
 * client hung up (server.h, "peer.c") [http thread]. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "server.h"

/* Address and port of a socket address as text ("127.0.0.1", "::1"); an
 * IPv4-mapped IPv6 address is written in its IPv4 form. */
static bool addr_text(const struct sockaddr_storage *ss, char *buf, size_t len, int *port)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        *port = ntohs(a->sin_port);
        return inet_ntop(AF_INET, &a->sin_addr, buf, (socklen_t)len) != NULL;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        *port = ntohs(a->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
            return inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], buf, (socklen_t)len) != NULL;
        return inet_ntop(AF_INET6, &a->sin6_addr, buf, (socklen_t)len) != NULL;
    }
    return false;
}

/* civetweb's remote_addr without IPv6 brackets or an IPv4-mapped prefix. */
static void plain_addr(const char *in, char *out, size_t len)
{
    size_t n = strlen(in);
    if (n >= 2 && in[0] == '[' && in[n - 1] == ']') {
        in++;
        n -= 2;
    }
    if (n > 7 && !strncasecmp(in, "::ffff:", 7) && strchr(in + 7, '.')) {
        in += 7;
        n -= 7;
    }
    if (n >= len)
        n = len - 1;
    memcpy(out, in, n);
    out[n] = '\0';
}

static bool is_the_socket(int fd, const char *want_addr, int remote_port, int local_port)
{
    int type = 0;
    socklen_t tl = sizeof type;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char addr[INET6_ADDRSTRLEN];
    int port = -1;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) || type != SOCK_STREAM)
        return false;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) || !addr_text(&ss, addr, sizeof addr, &port) ||
        port != local_port)
        return false;
    sl = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) || !addr_text(&ss, addr, sizeof addr, &port))
        return false;
    return port == remote_port && !strcmp(addr, want_addr);
}

int pictord_peer_socket(const char *remote_addr, int remote_port, int local_port)
{
    char want[INET6_ADDRSTRLEN + 8];
    plain_addr(remote_addr ? remote_addr : "", want, sizeof want);
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int found = -1;
    struct dirent *e;
    while (found < 0 && (e = readdir(d))) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (*end || end == e->d_name || fd < 0 || fd == dirfd(d))
            continue;
        if (is_the_socket((int)fd, want, remote_port, local_port))
            found = (int)fd;
    }
    closedir(d);
    return found;
}

bool pictord_peer_gone(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
    if (poll(&p, 1, 0) <= 0)
        return false;
    if (p.revents & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL))
        return true;
    if (p.revents & POLLIN) {
        char c;
        ssize_t r = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
    }
    return false;
}
