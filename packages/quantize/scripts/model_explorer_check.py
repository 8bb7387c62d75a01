"""Dev-time: checks that Model Explorer loads our overlay onto a model, headless.

  .venv-aeq/bin/python packages/quantize/scripts/model_explorer_check.py MODEL.tflite OVERLAY.json OUT_PREFIX

Starts `model-explorer` (pip ai-edge-model-explorer, scripts/requirements-me.txt) on localhost
without a browser, opens the model with the node data in headless Chromium (Debian `chromium`),
writes OUT_PREFIX.png (screenshot) and OUT_PREFIX.html (rendered DOM), and prints what the DOM
shows about the node data. Exit code 0 when the page rendered the model and the node data.
"""
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request

from model_explorer import config as me_config


def main():
  model, overlay, out = (os.path.abspath(a) for a in sys.argv[1:4])
  os.makedirs(os.path.dirname(out), exist_ok=True)
  port = int(os.environ.get('ME_PORT', '8765'))
  exe = os.path.join(os.path.dirname(sys.executable), 'model-explorer')
  server = subprocess.Popen(
      [exe, model, f'--node_data_paths={overlay}', '--no_open_in_browser', '--host=localhost', f'--port={port}'],
      stdout=open(out + '.server.log', 'w'), stderr=subprocess.STDOUT, text=True)
  try:
    base = f'http://localhost:{port}'
    for _ in range(120):
      try:
        urllib.request.urlopen(base + '/', timeout=2).read(100)
        break
      except Exception:  # noqa: BLE001 - not up yet
        time.sleep(0.5)
    else:
      raise SystemExit('model-explorer did not start')
    # 1. The graph Model Explorer's own TFLite adapter builds: every overlay key must name an op
    #    node's output tensor (that is how the UI maps results onto nodes).
    cmd = {'extensionId': 'builtin_tflite_flatbuffer', 'cmdId': 'convert', 'modelPath': model, 'settings': {},
           'deleteAfterConversion': False}
    graphs = json.loads(urllib.request.urlopen(
        base + '/api/v1/send_command?json=' + urllib.parse.quote(json.dumps(cmd)), timeout=600).read())
    tensor_names = set()
    node_ids = set()
    for coll in graphs.get('graphCollections', []):
      for g in coll['graphs']:
        for n in g['nodes']:
          node_ids.add(n['id'])
          for om in n.get('outputsMetadata', []):
            for a in om.get('attrs', []):
              if a['key'] == 'tensor_name':
                tensor_names.add(a['value'])
    keys = list(json.load(open(overlay))['results'].keys())
    mapped = [k for k in keys if k in tensor_names or k in node_ids]
    print(json.dumps({'me_nodes': len(node_ids), 'overlay_keys': len(keys), 'keys_on_graph': len(mapped),
                      'unmapped_examples': [k for k in keys if k not in mapped][:5]}))
    cfg = me_config().add_model_from_path(model).add_node_data_from_path(overlay)
    url = f'{base}/?data={cfg.to_url_param_value()}&renderer=webgl&show_open_in_new_tab=0'
    if not (shutil.which('chromium') or shutil.which('chromium-browser')):
      raise SystemExit('chromium not found (apt-get install chromium)')
    # 2. The web app in headless Chromium, driven over the DevTools protocol (plain --screenshot
    #    stops the page before the conversion finishes).
    cdp = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'me_cdp.mjs')
    res = subprocess.run(['node', '--experimental-websocket', cdp, url, out + '.png', os.environ.get('ME_WAIT_MS', '120000')],
                         check=True, capture_output=True, text=True, timeout=600)
    page = json.loads(res.stdout[res.stdout.index('{'):])
    state = page['state']
    loaded = os.path.basename(overlay) in state and 'Converting' not in state
    print(json.dumps({'overlay_loaded_in_ui': loaded, 'page': state[:200], 'screenshot': out + '.png'}))
    sys.exit(0 if loaded and len(mapped) == len(keys) else 1)
  finally:
    server.terminate()
    try:
      server.wait(timeout=10)
    except subprocess.TimeoutExpired:
      server.kill()


if __name__ == '__main__':
  main()
