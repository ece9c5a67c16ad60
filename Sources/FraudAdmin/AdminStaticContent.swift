/// Pages and documents served by the admin port, compiled into the binary (no CDN, no build step).
enum AdminStaticContent {}
