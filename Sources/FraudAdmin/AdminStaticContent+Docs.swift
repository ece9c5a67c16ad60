extension AdminStaticContent {
    /// `/docs`: renders `/openapi.json` as a readable page (plain JS, no CDN).
    static let docs = #"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>fraud-server admin API</title>
        <style>
        body{font:14px/1.45 system-ui,sans-serif;max-width:960px;margin:2em auto;color:#222;padding:0 1em}
        h2{margin-top:2em;font-family:ui-monospace,monospace;font-size:16px}
        code,td.m{font-family:ui-monospace,monospace} table{border-collapse:collapse;width:100%}
        td,th{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
        .get{background:#1f6feb;color:#fff;border-radius:3px;padding:1px 6px;margin-right:6px}
        </style></head><body>
        <h1 id="title">fraud-server admin API</h1><p id="desc"></p>
        <p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Live: <a href="/dashboard">/dashboard</a>.</p>
        <div id="paths">loading…</div>
        <script>
        function resolve(doc, p){ if(!p.$ref) return p; const parts=p.$ref.slice(2).split('/'); let o=doc; for(const k of parts) o=o[k]; return o; }
        function esc(s){ return String(s??'').replace(/[&<>]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;'}[c])); }
        fetch('/openapi.json').then(r=>r.json()).then(doc=>{
          document.getElementById('title').textContent = doc.info.title + ' ' + doc.info.version;
          document.getElementById('desc').textContent = doc.info.description;
          let html='';
          for(const [path, item] of Object.entries(doc.paths)){
            const op=item.get; html+=`<h2><span class="get">GET</span>${esc(path)}</h2><p><b>${esc(op.summary)}</b></p>`;
            if(op.description) html+=`<p>${esc(op.description)}</p>`;
            const params=(op.parameters||[]).map(p=>resolve(doc,p));
            if(params.length){ html+='<table><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr>';
              for(const p of params){ const s=p.schema||{}; let t=s.type||''; if(s.minimum!==undefined||s.maximum!==undefined) t+=` [${s.minimum??''}…${s.maximum??''}]`; if(s.default!==undefined) t+=` = ${s.default}`;
                html+=`<tr><td class="m">${esc(p.name)}</td><td>${esc(p.in)}</td><td>${esc(t)}</td><td>${esc(p.description)}</td></tr>`; }
              html+='</table>'; }
            html+='<p>Responses: '+Object.entries(op.responses).map(([c,r])=>`<code>${c}</code> ${esc(resolve(doc,r).description)}`).join('; ')+'</p>';
          }
          document.getElementById('paths').innerHTML=html;
        }).catch(e=>{ document.getElementById('paths').textContent='could not load /openapi.json: '+e; });
        </script></body></html>
        """#
}
