from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
version = {}
exec((HERE / "klue" / "_version.py").read_text(), version)

setup(
    name="klue-client-server",
    version=version["__version__"],
    description="Spec-first Flask servers, clients and models from Swagger 2.0 specifications",
    long_description=(HERE / "README.rst").read_text(),
    long_description_content_type="text/x-rst",
    license="BSD",
    packages=find_packages(include=["klue", "klue.*"]),
    package_data={"klue": ["py.typed"], "klue.schema": ["draft4-metaschema.json"]},
    python_requires=">=3.10",
    entry_points={"console_scripts": ["klue = klue.cli:main"]},
    install_requires=[
        # 3.1: request.max_content_length can be set per request (413s per API).
        "flask>=3.1,<4",
        # Imported by klue itself, not only through Flask and requests.
        "werkzeug>=3.1",
        "click>=8",
        "requests>=2.28",
        "urllib3>=1.26",
        "pyyaml>=6",
        # `klue serve`: a production WSGI server in one process (buffers requests
        # in its event loop, a fixed thread pool, idle timeouts, strict HTTP);
        # pure Python, no dependencies, maintained by the Pylons project.
        "waitress>=3",
        # The one validation engine, for values and their error messages:
        # compiled Rust, ~13x faster than fastjsonschema on the bench order
        # (BENCHMARKS.rst), and its regex engine runs patterns from specs in
        # linear time (backtracking ones under a step limit); wheels for
        # Linux, macOS and Windows. 0.60: FancyRegexOptions(backtrack_limit).
        "jsonschema-rs>=0.60,<1",
    ],
    extras_require={
        "cors": ["flask-cors>=4"],
        # klue.security.jwt_bearer: JWTs checked by PyJWT, RSA/EC keys by cryptography.
        "jwt": ["PyJWT[crypto]>=2.8,<3"],
        # The Swagger UI page at <base path>/docs, served from local files.
        "docs": ["swagger-ui-bundle>=1.1"],
        # `klue serve --workers N` and gunicorn "klue:make_app(...)": gevent
        # workers, where a slow client holds a greenlet, not a worker (gunicorn's
        # gevent worker imports packaging without declaring it).
        "serve": ["gunicorn>=22", "gevent>=22", "packaging"],
        # async_call's greenlet backend (used when asked, or in a gevent-patched process).
        "gevent": ["gevent>=22"],
        # bench/ (BENCHMARKS.rst): the frameworks klue is compared with, never runtime dependencies.
        "bench": ["connexion[flask,uvicorn]>=3,<4", "bravado>=11", "gunicorn>=22", "gevent>=22", "packaging",
                  "pyinstrument"],
        # .ci/run and .pre-commit-config.yaml: ruff (lint, format) and mypy --strict on klue/.
        "lint": ["ruff>=0.8", "mypy>=1.13", "types-PyYAML"],
        "test": [
            "pytest>=7",
            "pytest-timeout>=2",
            "flask-cors>=4",
            "PyJWT[crypto]>=2.8,<3",
            "gevent>=22",
            "swagger-ui-bundle>=1.1",
            "gunicorn>=22",
            # tests/test_fuzz.py: property-based fuzzing of spawned APIs
            "schemathesis>=4.32,<5",
        ],
    },
    classifiers=[
        "Framework :: Flask",
        "Programming Language :: Python :: 3",
        "Typing :: Typed",
    ],
)
