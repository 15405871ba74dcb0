"""Client and local sandbox for the passwordless SMS sign-in stack (the ``sms-otp`` command).

- ``sms-otp sign-in --stack NAME --phone +1...`` signs in against a deployed
  stack (real AWS, or the sandbox's emulator).
- ``sms-otp sandbox`` starts the local emulator, builds and deploys the real
  template into it, and signs in with a code.
"""
