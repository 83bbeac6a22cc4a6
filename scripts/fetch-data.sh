#!/usr/bin/env bash
# placeholder: replaced by the data fetcher
exit 0
