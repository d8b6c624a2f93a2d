package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// CacheConfig is the nginx configuration of a caching reverse proxy in
// front of an origin: what an operator would write for any origin that
// says in Cache-Control what may be kept, nothing particular to liveiso.
// The Host header goes to the origin as the client sent it, so that URLs
// the origin writes (iPXE scripts) name the proxy. proxy_cache_lock makes
// concurrent misses of one URL a single request to the origin.
const CacheConfig = `%[4]sdaemon off;
worker_processes 2;
pid %[1]s/nginx.pid;
error_log %[1]s/logs/error.log warn;
events { worker_connections 1024; }
http {
	access_log %[1]s/logs/access.log;
	client_body_temp_path %[1]s/tmp/body;
	proxy_temp_path %[1]s/tmp/proxy;
	fastcgi_temp_path %[1]s/tmp/fastcgi;
	uwsgi_temp_path %[1]s/tmp/uwsgi;
	scgi_temp_path %[1]s/tmp/scgi;
	proxy_cache_path %[1]s/cache levels=1:2 keys_zone=netboot:10m max_size=4g inactive=7d use_temp_path=off;
	server {
		listen %[2]s;
		location / {
			proxy_pass http://%[3]s;
			proxy_http_version 1.1;
			proxy_set_header Host $http_host;
			proxy_cache netboot;
			proxy_cache_lock on;
			proxy_cache_lock_timeout 5m;
			proxy_cache_lock_age 5m;
			add_header X-Cache-Status $upstream_cache_status always;
		}
	}
}
`

// Cache is a running nginx with CacheConfig.
type Cache struct {
	URL    string // "http://127.0.0.1:PORT/"
	Prefix string // its directory: nginx.conf, logs/, cache/
	stop   func()
}

// StartCache runs nginx as a cache of origin ("HOST:PORT") in prefix.
func StartCache(prefix, origin string) (*Cache, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	for _, d := range []string{"tmp", "logs", "cache"} {
		if err := os.MkdirAll(filepath.Join(prefix, d), 0o755); err != nil {
			return nil, err
		}
	}
	conf := filepath.Join(prefix, "nginx.conf")
	// Started as root, nginx runs its workers as nobody, who may not enter
	// a test's private directories: keep them as the user who started it.
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n"
	}
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(CacheConfig, prefix, addr, origin, user)), 0o644); err != nil {
		return nil, err
	}
	out, err := os.Create(filepath.Join(prefix, "logs", "stderr"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("nginx", "-p", prefix, "-c", conf, "-e", filepath.Join(prefix, "logs", "error.log"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("nginx: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); out.Close(); close(exited) }()
	c := &Cache{URL: "http://" + addr + "/", Prefix: prefix}
	c.stop = func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			return c, nil
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(filepath.Join(prefix, "logs", "error.log"))
			return nil, fmt.Errorf("nginx exited: %s", b)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("nginx does not listen on %s after 30 s", addr)
		}
	}
}

// Stop stops nginx.
func (c *Cache) Stop() { c.stop() }
