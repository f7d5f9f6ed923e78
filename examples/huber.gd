# Robust regression with the Huber loss (threshold 1): quadratic for small residuals and
# linear for large ones, so outliers pull less. With q = min(|r|, 1) the loss
# q^2/2 + |r| - q is r^2/2 when |r| <= 1 and |r| - 1/2 beyond.
model y = m*x + b
let r = y - Y
let q = min(abs(r), 1)
loss mean(q^2/2 + abs(r) - q)
