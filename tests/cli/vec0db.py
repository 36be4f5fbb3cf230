# tests/cli/vec0db.py - what the CLI tests' Python helpers share: a connection with
# a vec0 build loaded, an IVF command in the syntax that build understands, and
# the faults the write tests inject (a held write lock, a killed writer's journal).
# Run with Debian's /usr/bin/python3: its sqlite3 module can load extensions.
import sqlite3
import time


def connect(vec0, path):
    db = sqlite3.connect(path, isolation_level=None)
    db.enable_load_extension(True)
    db.load_extension(vec0)
    return db


def command(db, table, cmd):
    """alpha.2 and later read commands from a hidden column named after the
    table, alpha.1 from the id column."""
    hidden = any(r[1] == table and r[6] for r in db.execute(f'pragma table_xinfo("{table}")'))
    db.execute(f'insert into "{table}"("{table if hidden else "id"}") values (?)', (cmd,))


def has_ivf(vec0):
    """1 when the build creates IVF tables, else 0."""
    db = connect(vec0, ":memory:")
    try:
        db.execute("create virtual table p using vec0(v float[8] indexed by ivf())")
        return 1
    except sqlite3.Error:
        return 0


def hold(path, marker, seconds):
    """Holds the write lock (BEGIN IMMEDIATE) for a while; touches marker once held."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("begin immediate")
    open(marker, "w").close()
    time.sleep(float(seconds))
    db.execute("rollback")


def recover(path):
    """Opens the database once, as the next user would: a hot journal left by a
    killed writer is played back."""
    sqlite3.connect(path, isolation_level=None).execute("select count(*) from sqlite_master")
