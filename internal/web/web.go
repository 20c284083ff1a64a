// Package web is the dashboard: a login, an app switcher, a date range with
// presets and a page per analysis with its headline figures, charts, table
// and CSV export, and a detail page per guide, live room, store, ad, SKU
// and article. Templates, the style sheet, the page script and the
// vendored ECharts (static/ECHARTS.md) are embedded, so the binary serves
// it offline with no CDN. Every analysis of the registry gets its page
// from the shape of its Result.
package web

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/crypto/bcrypt"

	"github.com/shuyuan-dev/shuyuan/internal/analysis"
	"github.com/shuyuan-dev/shuyuan/internal/config"
	"github.com/shuyuan-dev/shuyuan/internal/server"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure the dashboard.
type Options struct {
	// Users may log in besides the admin key (whose user name is empty or
	// "admin", unless a configured user is called so).
	Users []config.User
	// SessionTTL is how long a login lasts (default 12 h).
	SessionTTL time.Duration
	// Now is the clock (default time.Now); tests set it to move past a
	// session's expiry and to pin "today".
	Now func() time.Time
}

// DefaultSessionTTL is how long a login lasts unless Options say otherwise:
// one working day.
const DefaultSessionTTL = 12 * time.Hour

const sessionCookie = "shuyuan_session"

// Mount returns the dashboard's routes, for server.Deps.Routes.
func Mount(opt Options) func(s *server.Server) []server.Route {
	return func(s *server.Server) []server.Route {
		return newDashboard(s, opt).routes()
	}
}

type dashboard struct {
	srv      *server.Server
	log      *slog.Logger
	now      func() time.Time
	users    map[string][]byte // name → bcrypt hash
	adminSum [32]byte
	sessions *sessions
	throttle *throttle
	// dummyHash is compared against for unknown names (see check).
	dummyHash func() []byte
	relay     relayCounts
}

func newDashboard(s *server.Server, opt Options) *dashboard {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.SessionTTL <= 0 {
		opt.SessionTTL = DefaultSessionTTL
	}
	d := &dashboard{
		srv: s, log: s.Logger, now: opt.Now, users: map[string][]byte{},
		adminSum:  sha256.Sum256([]byte(s.AdminKey)),
		sessions:  newSessions(s.Store, opt.SessionTTL, opt.Now),
		throttle:  newThrottle(opt.Now, s.AdminKey),
		dummyHash: dummyHash(opt.Users),
	}
	for _, u := range opt.Users {
		d.users[u.Name] = []byte(u.PasswordBcrypt)
	}
	return d
}

func (d *dashboard) routes() []server.Route {
	// Logging in and out are the only writes; the session cookie is
	// SameSite=Lax and these reject cross-origin posts besides.
	cop := http.NewCrossOriginProtection()
	page := func(pattern, doc string, h http.HandlerFunc) server.Route {
		return server.Route{Pattern: pattern, Auth: server.AuthLogin, Envelope: server.EnvHTML, Doc: doc, Handler: h}
	}
	return []server.Route{
		page("GET /{$}", "the dashboard: the apps", d.home),
		{Pattern: "GET /login", Auth: server.AuthNone, Envelope: server.EnvHTML, Doc: "the login form", Handler: http.HandlerFunc(d.loginPage)},
		{Pattern: "POST /login", Auth: server.AuthNone, Envelope: server.EnvHTML, Doc: "log in (a user's password or the admin key; throttled)", Handler: cop.Handler(http.HandlerFunc(d.login))},
		{Pattern: "POST /logout", Auth: server.AuthLogin, Envelope: server.EnvHTML, Doc: "log out, on every node", Handler: cop.Handler(http.HandlerFunc(d.logout))},
		{Pattern: "GET /static/{file}", Auth: server.AuthNone, Envelope: server.EnvStatic, Doc: "the dashboard's script, styles and ECharts", Handler: http.HandlerFunc(serveStatic)},
		page("GET /apps/{app}", "", d.authed(d.appHome)),
		page("GET /apps/{app}/{$}", "an app's overview", d.authed(d.appHome)),
		page("GET /apps/{app}/{page}", "one analysis: figures, charts, table, CSV", d.authed(d.page)),
		page("GET /apps/{app}/{page}/detail", "one guide, live room, store, ad, SKU or article: its days and funnel", d.authed(d.detail)),
	}
}

// visitor is who asks, in which language.
type visitor struct {
	user, lang string
}

// authed lets logged-in browsers (or admin-bearer clients) through and
// sends others to the login page, to come back afterwards.
func (d *dashboard) authed(h func(http.ResponseWriter, *http.Request, visitor)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if switchLang(w, r) {
			return
		}
		user, ok := d.userOf(r)
		if !ok {
			http.Redirect(w, r, "/login?"+url.Values{"next": {r.URL.RequestURI()}}.Encode(), http.StatusSeeOther)
			return
		}
		h(w, r, visitor{user, langOf(r)})
	}
}

func (d *dashboard) userOf(r *http.Request) (string, bool) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		u, ok, err := d.sessions.user(r.Context(), c.Value)
		if err != nil {
			// The store is away: the browser logs in again once it is back.
			d.log.Error("dashboard session", "request_id", server.RequestID(r.Context()), "error", err)
		}
		if ok {
			return u, true
		}
	}
	if d.srv.IsAdmin(r) {
		return "admin", true
	}
	return "", false
}

// switchLang handles ?lang=zh|en on any page: it remembers the choice in a
// cookie and redirects to the same page without the parameter, so links
// and reloads stay clean.
func switchLang(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.Query()
	lang := q.Get("lang")
	if !q.Has("lang") {
		return false
	}
	if validLang(lang) {
		http.SetCookie(w, &http.Cookie{
			Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure(r),
		})
	}
	q.Del("lang")
	u := *r.URL
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
	return true
}

// home sends a visitor to the login page or to the first app's default
// analysis.
func (d *dashboard) home(w http.ResponseWriter, r *http.Request) {
	if switchLang(w, r) {
		return
	}
	user, ok := d.userOf(r)
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	apps := d.srv.Tenants.Apps()
	name := defaultAnalysis()
	if len(apps) == 0 || name == "" {
		v := d.frame(r, visitor{user, langOf(r)}, nil)
		v.Error = v.T("no_apps")
		d.render(w, http.StatusOK, "message", v)
		return
	}
	http.Redirect(w, r, pagePath(apps[0].ID, name), http.StatusSeeOther)
}

func (d *dashboard) appHome(w http.ResponseWriter, r *http.Request, vis visitor) {
	app, ok := d.srv.Tenants.ByID(r.PathValue("app"))
	if !ok {
		d.notFound(w, r, vis, t(vis.lang, "unknown_app")+r.PathValue("app"))
		return
	}
	u := url.URL{Path: pagePath(app.ID, defaultAnalysis()), RawQuery: r.URL.RawQuery}
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// defaultAnalysis is what "/" opens: the overview, or the events where
// there is no overview yet.
func defaultAnalysis() string {
	for _, n := range []string{"overview", "events"} {
		if _, ok := analysis.Get(n); ok {
			return n
		}
	}
	if all := analysis.All(); len(all) > 0 {
		return all[0].Name
	}
	return ""
}

func pagePath(app, name string) string {
	return "/apps/" + url.PathEscape(app) + "/" + url.PathEscape(name)
}

func (d *dashboard) notFound(w http.ResponseWriter, r *http.Request, vis visitor, msg string) {
	v := d.frame(r, vis, nil)
	v.Error = msg
	d.render(w, http.StatusNotFound, "message", v)
}

// Login.

func (d *dashboard) loginPage(w http.ResponseWriter, r *http.Request) {
	if switchLang(w, r) {
		return
	}
	next := safeNext(r.URL.Query().Get("next"))
	if _, ok := d.userOf(r); ok {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	v := d.frame(r, visitor{lang: langOf(r)}, nil)
	v.Next = next
	d.render(w, http.StatusOK, "login", v)
}

func (d *dashboard) login(w http.ResponseWriter, r *http.Request) {
	vis := visitor{lang: langOf(r)}
	if err := r.ParseForm(); err != nil {
		v := d.frame(r, vis, nil)
		v.Error = t(vis.lang, "bad_login")
		d.render(w, http.StatusBadRequest, "login", v)
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	next := safeNext(r.PostForm.Get("next"))
	keys := d.throttle.keysOf(r, name)
	if wait := d.throttle.Wait(keys...); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		d.logFailure(r, "dashboard login throttled", name)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		v := d.frame(r, vis, nil)
		v.Error, v.Next, v.LoginName = fmt.Sprintf(t(vis.lang, "too_many_logins"), secs), next, name
		d.render(w, http.StatusTooManyRequests, "login", v)
		return
	}
	user, ok := d.check(name, r.PostForm.Get("password"))
	if !ok {
		d.throttle.Fail(keys...)
		d.logFailure(r, "dashboard login failed", name)
		v := d.frame(r, vis, nil)
		v.Error, v.Next, v.LoginName = t(vis.lang, "bad_login"), next, name
		d.render(w, http.StatusUnauthorized, "login", v)
		return
	}
	d.throttle.Clear(keys...)
	d.throttle.setDevice(w, r, user)
	// A fresh id at every login, and the browser's previous one forgotten:
	// an id planted before login is worth nothing after it.
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := d.sessions.end(r.Context(), c.Value); err != nil {
			d.log.Warn("dashboard session", "request_id", server.RequestID(r.Context()), "error", err)
		}
	}
	id, err := d.sessions.create(r.Context(), user)
	if err != nil {
		d.log.Error("dashboard login", "request_id", server.RequestID(r.Context()), "error", err)
		v := d.frame(r, vis, nil)
		v.Error, v.Next, v.LoginName = t(vis.lang, "store_unavailable"), next, name
		d.render(w, http.StatusServiceUnavailable, "login", v)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: id, Path: "/", MaxAge: int(d.sessions.ttl.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure(r),
	})
	d.log.Info("dashboard login", "request_id", server.RequestID(r.Context()), "user", user, "remote", r.RemoteAddr)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (d *dashboard) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := d.sessions.end(r.Context(), c.Value); err != nil {
			d.log.Error("dashboard logout", "request_id", server.RequestID(r.Context()), "error", err)
			http.Error(w, "the store is unavailable; log out again in a moment", http.StatusServiceUnavailable)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure(r),
	})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// logFailure logs a refused login. The name is logged only when it is a
// configured user or the admin: anything else may be a key or a password
// typed into the wrong field.
func (d *dashboard) logFailure(r *http.Request, msg, name string) {
	attrs := []any{"request_id", server.RequestID(r.Context()), "remote", r.RemoteAddr}
	if _, user := d.users[name]; user || name == "" || name == "admin" {
		attrs = append(attrs, "name", cmp.Or(name, "admin"))
	} else {
		attrs = append(attrs, "known_name", false)
	}
	d.log.Info(msg, attrs...)
}

// secure tells whether the browser reached us over HTTPS, directly or
// through a proxy that says so; cookies are then marked Secure. A client
// that lies about it only keeps its own cookie from coming back over HTTP.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// dummyHash returns the hash compared against when the name is unknown, so
// that a wrong name takes as long as a wrong password and does not reveal
// who exists: it has the cost of the users' own hashes (the highest, if
// they differ).
func dummyHash(users []config.User) func() []byte {
	cost := 0
	for _, u := range users {
		if c, err := bcrypt.Cost([]byte(u.PasswordBcrypt)); err == nil {
			cost = max(cost, c)
		}
	}
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	return sync.OnceValue(func() []byte {
		h, err := bcrypt.GenerateFromPassword([]byte("not a password of anyone"), cost)
		if err != nil {
			return nil
		}
		return h
	})
}

// check verifies a login: a configured user's password against its bcrypt
// hash, or the admin key (name empty or "admin"), compared in constant
// time.
func (d *dashboard) check(name, password string) (string, bool) {
	if hash, ok := d.users[name]; ok {
		return name, bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
	}
	if name == "" || name == "admin" {
		sum := sha256.Sum256([]byte(password))
		return "admin", d.srv.AdminKey != "" && subtle.ConstantTimeCompare(sum[:], d.adminSum[:]) == 1
	}
	bcrypt.CompareHashAndPassword(d.dummyHash(), []byte(password)) //nolint:errcheck // for its time only
	return "", false
}

// safeNext keeps a post-login redirect on this site: a path with no
// scheme, no host and no control character, else "/". Browsers drop tabs
// and line breaks from URLs and read a backslash as a slash, so
// "/\t/evil.example" and "/\\evil.example" would lead to another site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') ||
		strings.IndexFunc(next, unicode.IsControl) >= 0 {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	return next
}

// Static files, named with their content hash so browsers may keep them.

var staticSums = func() map[string]string {
	m := map[string]string{}
	fs.WalkDir(staticFS, "static", func(p string, e fs.DirEntry, err error) error { //nolint:errcheck // embedded; cannot fail
		if err != nil || e.IsDir() {
			return nil
		}
		b, _ := fs.ReadFile(staticFS, p)
		sum := sha256.Sum256(b)
		m[path.Base(p)] = hex.EncodeToString(sum[:6])
		return nil
	})
	return m
}()

func staticURL(name string) string { return "/static/" + name + "?v=" + staticSums[name] }

func serveStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	sum, ok := staticSums[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	b, err := fs.ReadFile(staticFS, "static/"+name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	if r.URL.Query().Get("v") == sum {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Add("Vary", "Accept-Encoding")
	etag := sum
	// ECharts is 715 KB as it is and 240 KB gzipped: a phone on a shop's
	// Wi-Fi should not wait for the difference.
	if gz := gzipped(name, b); gz != nil && acceptsGzip(r) {
		b, etag = gz, sum+"-gz"
		w.Header().Set("Content-Encoding", "gzip")
	}
	w.Header().Set("ETag", `"`+etag+`"`)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}

// gzipCache holds the gzipped scripts and style sheets, made on first use.
var gzipCache sync.Map // name → []byte

// gzipped is the gzip of a static text file, nil for other files.
func gzipped(name string, b []byte) []byte {
	if ext := path.Ext(name); ext != ".js" && ext != ".css" {
		return nil
	}
	if gz, ok := gzipCache.Load(name); ok {
		return gz.([]byte)
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil
	}
	if _, err := zw.Write(b); err != nil || zw.Close() != nil {
		return nil
	}
	gzipCache.Store(name, buf.Bytes())
	return buf.Bytes()
}

// acceptsGzip reads Accept-Encoding, refusing gzip;q=0.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q, ok := strings.CutPrefix(strings.TrimSpace(params), "q=")
			if !ok {
				return true
			}
			f, err := strconv.ParseFloat(q, 64)
			return err == nil && f > 0
		}
	}
	return false
}

// Rendering.

var templates = func() map[string]*template.Template {
	funcs := template.FuncMap{
		"json": jsonText,
		"rich": richText,
	}
	m := map[string]*template.Template{}
	for _, page := range []string{"login", "analysis", "message"} {
		m[page] = template.Must(template.New("layout.html").Funcs(funcs).
			ParseFS(templateFS, "templates/layout.html", "templates/"+page+".html"))
	}
	return m
}()

// render executes a page into a buffer first, so a template error becomes a
// clean 500 rather than half a page.
func (d *dashboard) render(w http.ResponseWriter, status int, page string, v *view) {
	var buf bytes.Buffer
	if err := templates[page].Execute(&buf, v); err != nil {
		d.log.Error("dashboard template", "page", page, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Pages show a merchant's figures: no caching, no framing, scripts
	// only from this server's own files (the charts), none inline.
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	w.Write(buf.Bytes()) //nolint:errcheck // the client went away
}
