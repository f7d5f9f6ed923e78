param w[3]
data x[3], Y
model y = dot(w, x) + w[3]
loss mean((y - Y)^2)
