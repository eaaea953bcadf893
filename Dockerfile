FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir -r requirements.lock
COPY web/package.json web/package-lock.json web/.npmrc web/
RUN cd web && npm ci --omit=dev --no-audit --no-fund
COPY . .
RUN pip install --no-cache-dir --no-deps --no-build-isolation -e .
ENV ALLIMI_HOST=0.0.0.0
EXPOSE 8000
CMD ["allimi", "run"]
