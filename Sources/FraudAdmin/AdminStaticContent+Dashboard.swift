extension AdminStaticContent {
    /// `/dashboard`: a live page for analysts. Plain HTML/JS/SVG; polls `/api/v1/live` every second and
    /// the summary and latest alerts every two seconds.
    static let dashboard = #"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>fraud-server · live</title>
        <style>
        body{font:13px/1.4 system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
        header{background:#1d2330;color:#fff;padding:10px 18px;display:flex;gap:24px;align-items:baseline}
        header h1{font-size:16px;margin:0} header span{opacity:.85}
        main{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:14px;padding:14px}
        section{background:#fff;border-radius:6px;padding:10px 14px;box-shadow:0 1px 2px #0002}
        h2{font-size:13px;margin:0 0 6px;text-transform:uppercase;letter-spacing:.04em;color:#556}
        .big{font-size:28px;font-weight:600} svg{width:100%;height:160px;display:block}
        table{width:100%;border-collapse:collapse;font-size:12px} td,th{padding:3px 4px;border-bottom:1px solid #eee;text-align:left}
        .DECLINE{color:#c62828;font-weight:600} .REVIEW{color:#e08a00;font-weight:600} .muted{color:#889}
        #alerts-panel{grid-column:1/-1}
        </style></head><body>
        <header><h1>fraud-server · live</h1><span id="status">connecting…</span><span id="model"></span>
        <span id="backlog"></span><span id="accounts"></span><span id="updated" class="muted"></span></header>
        <form id="login" hidden style="margin:14px;padding:10px 14px;background:#fff;border-radius:6px">
        <b id="login-why">Sign in as an analyst</b> <input id="login-user" placeholder="user" autocomplete="username">
        <input id="login-password" type="password" placeholder="password" autocomplete="current-password">
        <button>Sign in</button> <span id="login-error" class="DECLINE"></span></form>
        <main>
        <section><h2>Decisions per second</h2><div class="big" id="dps">–</div><svg id="chart-dps" viewBox="0 0 400 160" preserveAspectRatio="none"></svg></section>
        <section><h2>Score latency (last 10 s, server side)</h2><div class="big" id="latency">–</div><svg id="chart-latency" viewBox="0 0 400 160" preserveAspectRatio="none"></svg></section>
        <section><h2>Fraud rate by type</h2><svg id="chart-types" viewBox="0 0 400 160"></svg><div class="muted">bars: share flagged (REVIEW+DECLINE) since start · dots: labelled fraud rate (summary window)</div></section>
        <section><h2>Amount distribution (summary window)</h2><svg id="chart-amounts" viewBox="0 0 400 160"></svg><div class="muted" id="quantiles"></div></section>
        <section><h2>Top reasons (flagged decisions, summary window)</h2><svg id="chart-reasons" viewBox="0 0 400 160"></svg></section>
        <section><h2>Decisions (summary window)</h2><div id="decisions" class="big">–</div><div id="quality" class="muted"></div></section>
        <section id="alerts-panel"><h2>Latest alerts</h2><table><thead><tr><th>scored at</th><th>transaction</th><th>type</th><th>amount</th><th>origin → destination</th><th>score</th><th>decision</th><th>reasons</th></tr></thead><tbody id="alerts"></tbody></table></section>
        </main>
        <script>
        const NS='http://www.w3.org/2000/svg';
        const history={dps:[],p50:[],p99:[]}; let prev=null; const latWindow=[];
        function el(tag, attrs, text){ const e=document.createElementNS(NS,tag); for(const k in attrs) e.setAttribute(k,attrs[k]); if(text!==undefined) e.textContent=text; return e; }
        function clear(svg){ while(svg.firstChild) svg.removeChild(svg.firstChild); }
        function line(svg, series, colors){
          clear(svg); const all=series.flat(); const max=Math.max(1e-9,...all);
          series.forEach((s,i)=>{ if(s.length<1) return; const pts=s.map((v,j)=>`${(j/(Math.max(1,s.length-1)))*400},${155-(v/max)*145}`).join(' ');
            svg.appendChild(el('polyline',{points:pts,fill:'none',stroke:colors[i],'stroke-width':2,class:'series'})); });
          svg.appendChild(el('text',{x:4,y:12,'font-size':10,fill:'#889'},fmt(max)));
        }
        function bars(svg, items, color, dots){
          clear(svg); if(!items.length){ svg.appendChild(el('text',{x:8,y:20,fill:'#889'},'no data yet')); return; }
          const max=Math.max(1e-9,...items.map(i=>i.value)); const w=400/items.length;
          items.forEach((it,i)=>{ const h=(it.value/max)*120;
            svg.appendChild(el('rect',{x:i*w+4,y:135-h,width:w-8,height:h,fill:color,class:'bar'}));
            svg.appendChild(el('text',{x:i*w+w/2,y:150,'font-size':9,'text-anchor':'middle',fill:'#445'},it.label.slice(0,14)));
            svg.appendChild(el('text',{x:i*w+w/2,y:131-h,'font-size':9,'text-anchor':'middle',fill:'#445'},it.text??fmt(it.value)));
            if(dots && dots[i]!=null){ const dy=135-Math.min(1,dots[i]/max)*120; svg.appendChild(el('circle',{cx:i*w+w/2,cy:dy,r:4,fill:'#c62828'})); }
          });
        }
        function fmt(v){ if(v>=1e6) return (v/1e6).toFixed(1)+'M'; if(v>=1e3) return (v/1e3).toFixed(1)+'k'; if(v<1&&v>0) return v.toPrecision(2); return String(Math.round(v*10)/10); }
        function money(c){ return (c/100).toLocaleString(undefined,{maximumFractionDigits:2}); }
        function sum(o){ return Object.values(o).reduce((a,b)=>a+b,0); }
        function percentile(bounds, counts, q){ const total=counts.reduce((a,b)=>a+b,0); if(!total) return null; let acc=0;
          for(let i=0;i<counts.length;i++){ acc+=counts[i]; if(acc>=q*total) return i<bounds.length? bounds[i] : bounds[bounds.length-1]*2; } return null; }
        function us(s){ return s==null?'–':(s*1e6<1000? (s*1e6).toFixed(0)+' µs' : (s*1e3).toFixed(1)+' ms'); }
        let lastTypes=null, summary=null;
        // With authentication on, the API answers 401/403 until the login below sets the fraud_token cookie.
        async function api(url){ const r=await fetch(url,{credentials:'same-origin'});
          if(r.status===401||r.status===403){ const f=document.getElementById('login'); f.hidden=false;
            document.getElementById('login-why').textContent=r.status===403?'Your role cannot read this; sign in as an analyst':'Sign in as an analyst';
            throw new Error('not signed in'); }
          return r; }
        document.getElementById('login').addEventListener('submit',async ev=>{ ev.preventDefault();
          const r=await fetch('/api/v1/auth/login',{method:'POST',credentials:'same-origin',headers:{'content-type':'application/json'},
            body:JSON.stringify({username:document.getElementById('login-user').value,password:document.getElementById('login-password').value})});
          if(r.ok){ document.getElementById('login').hidden=true; document.getElementById('login-error').textContent=''; pollLive(); pollSummary(); }
          else { document.getElementById('login-error').textContent=((await r.json()).error||{}).message||('HTTP '+r.status); } });
        async function pollLive(){
          try{
            const live=await (await api('/api/v1/live')).json();
            const total=sum(live.decisions);
            if(prev){ const dt=(live.time_ms-prev.time_ms)/1000; const rate=dt>0?(total-sum(prev.decisions))/dt:0;
              history.dps.push(rate); if(history.dps.length>120) history.dps.shift();
              document.getElementById('dps').textContent=fmt(rate)+' /s';
              const delta=live.score_latency.buckets.map((b,i)=>b-prev.score_latency.buckets[i]); latWindow.push(delta); if(latWindow.length>10) latWindow.shift();
              const agg=delta.map((_,i)=>latWindow.reduce((a,d)=>a+d[i],0)); const bounds=live.score_latency.bounds_s.map(Number);
              const p50=percentile(bounds,agg,0.5), p90=percentile(bounds,agg,0.9), p99=percentile(bounds,agg,0.99);
              document.getElementById('latency').textContent=`p50 ≤${us(p50)} · p90 ≤${us(p90)} · p99 ≤${us(p99)}`;
              history.p50.push(p50||0); history.p99.push(p99||0); if(history.p50.length>120){history.p50.shift();history.p99.shift();}
              line(document.getElementById('chart-dps'),[history.dps],['#1f6feb']);
              line(document.getElementById('chart-latency'),[history.p50,history.p99],['#2e7d32','#c62828']);
            }
            prev=live; lastTypes=live.by_type; drawTypes();
            document.getElementById('backlog').textContent='journal backlog '+live.journal_backlog;
            document.getElementById('accounts').textContent=fmt(live.velocity_accounts)+' accounts';
            document.getElementById('model').textContent='model '+live.model_version;
            document.getElementById('updated').textContent='updated '+new Date(live.time_ms).toLocaleTimeString();
            document.body.dataset.liveUpdates=String(Number(document.body.dataset.liveUpdates||0)+1);
          }catch(e){ document.getElementById('status').textContent='live: '+e; }
        }
        function drawTypes(){
          if(!lastTypes) return; const items=[], dots=[];
          for(const [type,d] of Object.entries(lastTypes)){ const t=sum(d); const f=(d.REVIEW||0)+(d.DECLINE||0);
            items.push({label:type,value:t?f/t:0,text:t?(100*f/t).toFixed(1)+'%':'–'});
            const s=summary&&summary.by_type.find(x=>x.type===type); dots.push(s&&s.fraud_rate!=null?Number(s.fraud_rate):null); }
          bars(document.getElementById('chart-types'),items,'#e08a00',dots);
        }
        async function pollSummary(){
          try{
            const h=await (await fetch('/health')).json(); document.getElementById('status').textContent='health: '+h.status;
            const r=await api('/api/v1/analytics/summary?window_minutes=60'); if(!r.ok){ return; }
            summary=await r.json(); drawTypes();
            bars(document.getElementById('chart-amounts'),summary.amount_decades.map(d=>({label:'≥'+money(Math.pow(10,d.decade)),value:d.count})),'#1f6feb');
            const q=summary.amount_cents; document.getElementById('quantiles').textContent=q.p50==null?'':`p50 ${money(q.p50)} · p90 ${money(q.p90)} · p99 ${money(q.p99)} · max ${money(q.max)}`;
            bars(document.getElementById('chart-reasons'),summary.top_reasons.map(r=>({label:r.code,value:r.count})),'#c62828');
            const d=summary.by_decision; document.getElementById('decisions').textContent=`${fmt(d.APPROVE)} approve · ${fmt(d.REVIEW)} review · ${fmt(d.DECLINE)} decline`;
            const lq=summary.live_quality; document.getElementById('quality').textContent=lq.labelled? `labelled ${lq.labelled}: precision ${lq.precision??'–'} · recall ${lq.recall??'–'}` : 'no labelled decisions in the window';
            const a=await (await api('/api/v1/analytics/fraud-alerts?limit=15')).json(); const tb=document.getElementById('alerts'); tb.innerHTML='';
            for(const it of a.items){ const tr=document.createElement('tr');
              const cells=[new Date(it.scored_at).toLocaleTimeString(), it.transaction_id, it.type, money(it.amount_cents), it.origin_account+' → '+it.destination_account, Number(it.risk_score).toFixed(3), it.decision, it.reasons.map(r=>r.code).join(', ')];
              cells.forEach((c,i)=>{ const td=document.createElement('td'); td.textContent=c; if(i===6) td.className=c; if(i===7) td.title=it.reasons.map(r=>r.detail).join('\n'); tr.appendChild(td); });
              tb.appendChild(tr); }
            document.body.dataset.summaryUpdates=String(Number(document.body.dataset.summaryUpdates||0)+1);
          }catch(e){ document.getElementById('status').textContent='summary: '+e; }
        }
        pollLive(); pollSummary(); setInterval(pollLive,1000); setInterval(pollSummary,2000);
        </script></body></html>
        """#
}
