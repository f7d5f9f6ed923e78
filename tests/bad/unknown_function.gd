model p = sigmod(w*x + b)
loss mean((p - Y)^2)
