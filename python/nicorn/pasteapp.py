"""--paste: the WSGI app a PasteDeploy config file names, loaded as Gunicorn's
gunicorn/app/pasterapp.py get_wsgi_app loads it. The worker imports it through
the usual APP_MODULE path, as the factory call
``nicorn.pasteapp:load('/abs/app.ini#name', {global conf})`` (see appSpec in
src/config/settings.ts)."""

import os


def load(config_uri, global_conf):
    from paste.deploy import loadapp

    if ":" not in config_uri:
        config_uri = "config:%s" % config_uri
    return loadapp(config_uri, name=None, relative_to=os.getcwd(), global_conf=global_conf)
