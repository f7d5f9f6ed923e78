param w[3]
data x[d], Y
model y = sum(w * x)
loss mean((y - Y)^2)
