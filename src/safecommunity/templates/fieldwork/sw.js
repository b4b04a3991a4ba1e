/* Safe Community field work: the service worker, served at /fieldwork/sw.js so that its
   scope covers the field-work pages. It keeps the visit form and what it needs (the shell)
   in a cache: with no network the form still opens, and fieldwork.js queues the visits in
   IndexedDB until they can be sent. */
"use strict";
const CACHE = "fieldwork-{{ version }}";
const SHELL = [{% for url in shell %}"{{ url|escapejs }}"{% if not forloop.last %}, {% endif %}{% endfor %}];
const FORM_PAGE = "{{ offline_page|escapejs }}";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((k) => k.startsWith("fieldwork-") && k !== CACHE).map((k) => caches.delete(k))
      ))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    // Pages: the network first (fresh data), the cached copy when there is none.
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (response.ok && url.pathname === FORM_PAGE && !url.search) {
            const copy = response.clone();
            caches.open(CACHE).then((cache) => cache.put(FORM_PAGE, copy));
          }
          return response;
        })
        .catch(() =>
          caches.match(request, { ignoreSearch: false })
            .then((hit) => hit || caches.match(FORM_PAGE))
        )
    );
    return;
  }
  if (SHELL.includes(url.pathname)) {
    // The shell's scripts and styles: the cache first, refreshed in the background.
    event.respondWith(
      caches.open(CACHE).then((cache) =>
        cache.match(request).then((hit) => {
          const fresh = fetch(request)
            .then((response) => {
              if (response.ok) cache.put(request, response.clone());
              return response;
            })
            .catch(() => hit);
          return hit || fresh;
        })
      )
    );
  }
});
