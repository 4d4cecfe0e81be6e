# Image for `docker compose run --rm elt <command>`: the project installed from the lock file.
FROM python:3.11-slim-bookworm
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir -c requirements.lock -e . \
    && useradd --create-home elt && chown -R elt /app
USER elt
ENTRYPOINT ["elt"]
CMD ["demo"]
