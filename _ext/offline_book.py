"""Sphinx extension of the course's book: pages that work offline and log no JavaScript error.

Jupyter Book 1 always loads sphinx-thebe, whose inline script names the Thebe bundle on a CDN
(loaded only from a launch button, which this book does not have: its code runs in JupyterLab).
The extension drops sphinx-thebe's scripts from every page, so that no page refers to an outside
script at all.

It also drops repeated inline scripts.  Sphinx 7.4 lists an inline script that an extension adds
after the builder has started twice on every page (once under the file name ``None``, once under
``''``, which its duplicate check takes for different files); sphinx-thebe's repeated
``const THEBE_JS_URL`` is then a JavaScript error on every page.
"""

from __future__ import annotations


def _is_thebe(script) -> bool:
    return "sphinx-thebe" in (script.filename or "") or \
        "THEBE_JS_URL" in script.attributes.get("body", "")


def clean_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        key = (script.filename or "", tuple(sorted(script.attributes.items())))
        if key in seen or _is_thebe(script):
            continue
        seen.add(key)
        kept.append(script)
    scripts[:] = kept


def setup(app):
    # After every extension has added its page scripts (the default priority is 500).
    app.connect("html-page-context", clean_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
