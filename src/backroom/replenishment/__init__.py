"""Replenishment: what to order, when and why — demand classes, forecasts, safety stock, and a backtest harness."""
