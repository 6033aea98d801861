# A tiny web app for the README's "From code to container in four commands".
import os
import socket

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    return f"Hello from Flask in container {socket.gethostname()}!\n"


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "5000")))
