#!/usr/bin/env python3
"""Fernet interoperability check between cachesrvd's Swift Fernet and Python's `cryptography`.

Usage:
  fernet_interop.py decrypt KEY TOKEN       print the plaintext of TOKEN (made by cachesrvd)
  fernet_interop.py encrypt KEY PLAINTEXT   print a token of PLAINTEXT for cachesrvd to decrypt
  fernet_interop.py genkey                  print a new key

KEY is URL-safe base64 of 32 bytes. Exit status: 0 ok, 1 the token did not verify,
2 bad usage, 3 the `cryptography` package is missing.
"""

import sys

try:
    from cryptography.fernet import Fernet, InvalidToken
except ImportError:
    print("python package 'cryptography' is not installed", file=sys.stderr)
    sys.exit(3)


def main(argv):
    if len(argv) == 2 and argv[1] == "genkey":
        print(Fernet.generate_key().decode("ascii"))
        return 0
    if len(argv) != 4 or argv[1] not in ("decrypt", "encrypt"):
        print(__doc__, file=sys.stderr)
        return 2
    fernet = Fernet(argv[2].encode("ascii"))
    if argv[1] == "decrypt":
        try:
            plaintext = fernet.decrypt(argv[3].encode("ascii"))
        except InvalidToken:
            print("token did not verify with the key", file=sys.stderr)
            return 1
        sys.stdout.write(plaintext.decode("utf-8"))
        return 0
    sys.stdout.write(fernet.encrypt(argv[3].encode("utf-8")).decode("ascii"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
